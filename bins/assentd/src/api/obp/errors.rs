//! OBP's dialect: `{"code": <http status>, "message": "OBP-NNNNN: text"}`. Numbers and texts
//! follow OBP where it has them; the ones OBP lacks are listed in `docs/errors.md`.

use crate::api::{GenericError, RetryAfter};
use crate::services::Failure;
use crate::services::auth::SignInRefusal;
use crate::services::banks::{BankNotFound, CreateBankRefusal};
use crate::services::roles::MissingRoles;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use assent_identity::bank::BankError;
use std::fmt;

pub const USER_NOT_LOGGED_IN: &str = "OBP-20001: User not logged in. Authentication is required!";
pub const DIRECT_LOGIN_MISSING_PARAMETERS: &str =
    "OBP-20002: These DirectLogin parameters are missing:";
pub const INVALID_DIRECT_LOGIN_TOKEN: &str =
    "OBP-20003: This DirectLogin token is invalid or expired.";
pub const INVALID_LOGIN_CREDENTIALS: &str =
    "OBP-20004: Invalid login credentials. Check username/password.";
pub const ACCOUNT_LOCKED: &str =
    "OBP-20013: The account has been locked, please contact administrator !";
pub const USER_MISSING_ROLES: &str = "OBP-20006: User is missing one or more roles:";
pub const USER_NOT_FOUND_BY_USERNAME: &str = "OBP-20027: User not found by provider and username.";
pub const USERNAME_AT_SEVERAL_PROVIDERS: &str = "OBP-20028: Users at several providers have this username: name one with the provider query parameter.";
pub const USER_NOT_FOUND_BY_ID: &str =
    "OBP-20005: User not found. Please specify a valid value for USER_ID.";
pub const INCORRECT_ROLE_NAME: &str = "OBP-10007: Incorrect Role name:";
pub const BANK_NOT_FOUND: &str =
    "OBP-30001: Bank not found. Please specify a valid value for BANK_ID.";
pub const ENTITLEMENT_IS_BANK_ROLE: &str =
    "OBP-30205: This entitlement is a Bank Role. Please set bank_id to a valid bank id.";
pub const ENTITLEMENT_IS_SYSTEM_ROLE: &str =
    "OBP-30206: This entitlement is a System Role. Please set bank_id to empty string.";
pub const ENTITLEMENT_NOT_FOUND: &str = "OBP-30212: EntitlementId not found.";
pub const ENTITLEMENT_ALREADY_EXISTS: &str = "OBP-30216: Entitlement already exists for the user.";
pub const INVALID_BANK_ID: &str =
    "OBP-30275: Invalid bank id. Use 1 to 255 characters from letters, digits, '.', '_' and '-'.";
pub const INVALID_BANK_FIELDS: &str = "OBP-30276: Invalid bank: names need 1 to 255 characters without control characters; logo and website must be empty or http(s) URLs of at most 2048 characters.";
pub const BANK_ALREADY_EXISTS: &str = "OBP-30277: A bank with this id already exists.";
pub const USER_NOT_FOUND_BY_EMAIL: &str = "OBP-20007: User not found by email.";
pub const INVALID_QUERY: &str = "OBP-10044: Invalid URL query parameters.";
pub const INVALID_DATE: &str =
    "OBP-10045: Invalid from_date or to_date: use an RFC 3339 time (2026-12-01T00:00:00Z).";
pub const INVALID_USER_ID_PARAMETER: &str = "OBP-10046: Invalid user_id: a user id is a UUID.";
pub const INVALID_LIMIT: &str = "OBP-10040: Invalid limit: use an integer from 1 to 1000.";
pub const INVALID_OFFSET: &str = "OBP-10041: Invalid offset: use an integer from 0.";
pub const INVALID_SORT_DIRECTION: &str = "OBP-10042: Invalid sort_direction: use ASC or DESC.";
pub const INVALID_LOCKED_STATUS: &str = "OBP-10043: Invalid locked_status: use locked or active.";
pub const CONSUMER_NOT_FOUND: &str =
    "OBP-30019: Consumer not found. Please specify a valid value for CONSUMER_ID.";
pub const INVALID_CONSUMER_FIELDS: &str = "OBP-30278: Invalid consumer: app_name needs 1 to 100 characters; developer_email must be an email address; redirect_url must be empty or an http(s) URL of at most 2048 characters; description at most 2000 characters.";
pub const INVALID_CALL_LIMITS: &str =
    "OBP-30279: Invalid call limits: every period needs a whole number, -1 for unlimited.";
pub const AUTH_CONTEXT_NOT_FOUND: &str = "OBP-30280: User auth context not found.";
pub const INVALID_AUTH_CONTEXT: &str = "OBP-30281: Invalid auth context: keys are 1 to 255 of letters, digits, '_', '-', '.'; values 1 to 255 characters without control characters.";
pub const ENTITLEMENT_REQUEST_ALREADY_EXISTS: &str =
    "OBP-30214: Entitlement Request already exists for the user.";
pub const ENTITLEMENT_REQUEST_NOT_FOUND: &str = "OBP-30215: EntitlementRequestId not found.";
pub const DAUTH_HOST_NOT_ALLOWED: &str = "OBP-20069: DAuth is not allowed from this host.";
pub const DAUTH_INVALID_TOKEN: &str = "OBP-20070: Invalid DAuth JWT: it must be RS256, signed with the configured key, with smart_contract_address, network_name, consumer_key, timestamp and request_id.";
pub const DAUTH_STALE: &str = "OBP-20071: DAuth JWT timestamp is outside the allowed window.";
pub const DAUTH_REPLAYED: &str = "OBP-20072: DAuth request_id has been used before.";
pub const NO_SESSION_TO_END: &str =
    "OBP-20074: This call has no session to end (DAuth calls have none).";
pub const INVALID_CONSUMER_KEY: &str = "OBP-20008: Invalid Consumer Key.";
pub const VALUE_TOO_LONG: &str = "OBP-20010: Value too long.";
pub const INVALID_VALUE_CHARACTERS: &str = "OBP-20011: Value contains invalid characters.";
pub const MISSING_DIRECT_LOGIN_HEADER: &str =
    "OBP-20082: Missing DirectLogin or Authorization header.";
pub const INVALID_DIRECT_LOGIN_HEADER: &str =
    "OBP-20083: Missing DirectLogin word at the value of Authorization header.";
pub const INVALID_JSON_FORMAT: &str = "OBP-10001: Incorrect json format.";
pub const INVALID_PASSWORD_FORMAT: &str = "OBP-30207: Invalid Password Format. Your password should EITHER be at least 10 characters long and contain mixed numbers and both upper and lower case letters and at least one special character, OR the length should be > 16 and <= 512.";
pub const PASSWORD_TOO_COMMON: &str = "OBP-30270: Password is too common or too easy to guess. Choose a longer, less predictable password that does not contain your username.";
pub const INVALID_USERNAME: &str = "OBP-30271: Invalid username. Use 1 to 100 characters from letters, digits, '.', '_', '-' and '@', or an email address.";
pub const INVALID_EMAIL: &str = "OBP-30272: Invalid email address.";
pub const INVALID_NAME: &str = "OBP-30273: Invalid first_name or last_name. Use 1 to 100 characters without control characters.";
pub const INVALID_PHONE_NUMBER: &str =
    "OBP-30282: Invalid phone_number. Use the international form: + and 8 to 15 digits, no spaces.";
pub const NO_PHONE_FOR_SMS: &str =
    "OBP-30283: The user has no phone number registered, so SMS cannot be used. Use EMAIL.";
pub const OTP_DESTINATION_QUOTA: &str =
    "OBP-30284: Too many one-time codes have been sent to this destination today.";
pub const UNSUPPORTED_SCA_METHOD: &str = "OBP-35034: Unsupported as SCA method. Use SMS or EMAIL.";
pub const OTP_NOT_DELIVERED: &str = "OBP-35010: SMS server is not working or SMS server can not send the message to the phone number:";
pub const AUTH_CONTEXT_UPDATE_NOT_FOUND: &str =
    "OBP-30057: User Auth Context Update not found by AUTH_CONTEXT_UPDATE_ID.";
pub const AUTH_CONTEXT_UPDATE_NOT_INITIATED: &str =
    "OBP-30090: User Auth Context Update status is not INITIATED. It has already been actioned.";
pub const INVALID_CHALLENGE_ANSWER: &str = "OBP-40016: Invalid Challenge Answer.";
pub const ATTEMPTS_USED_UP: &str =
    "OBP-40014: Sorry, you've used up your allowed attempts. The request is REJECTED.";
pub const OTP_EXPIRED: &str =
    "OBP-20211: The One Time Password (OTP) has expired. Create a new request.";
pub const TOTP_ALREADY_REGISTERED: &str =
    "OBP-30285: An authenticator app is already registered. Remove it first.";
pub const INVALID_TOTP_CODE: &str = "OBP-30286: Invalid authenticator code.";
pub const TOTP_ENROLMENT_DISCARDED: &str =
    "OBP-30287: Too many wrong codes: the enrolment was discarded. Register again.";
pub const TOTP_NOT_REGISTERED: &str =
    "OBP-30288: No authenticator app is registered or waiting for confirmation.";
pub const TOTP_BUSY: &str =
    "OBP-30289: The enrolment kept changing while it was checked; try again.";
pub const SESSION_NOT_FOUND: &str =
    "OBP-20075: Session not found among the caller's live sessions.";
pub const AUTH_CONTEXT_KEY_TAKEN: &str =
    "OBP-30290: This auth context key is already set; only an administrator can change it.";
pub const NO_EMAIL_FOR_EMAIL: &str =
    "OBP-30291: The user has no email address registered, so EMAIL cannot be used.";
pub const ACCOUNT_NOT_FOUND: &str =
    "OBP-30018: Bank Account not found. Please specify valid values for BANK_ID and ACCOUNT_ID.";
pub const SYSTEM_VIEW_NOT_FOUND: &str =
    "OBP-30252: System view not found. Please specify a valid value for VIEW_ID";
pub const VIEW_NOT_FOUND: &str =
    "OBP-30005: View not found for Account. Please specify a valid value for VIEW_ID";
pub const NO_OWNER_ACCESS: &str =
    "OBP-20047: User must have access to the owner view or must be an account holder.";
pub const ACCOUNT_ACCESS_NOT_FOUND: &str = "OBP-30065: Cannot find account access.";
pub const ACCOUNT_ID_TAKEN: &str = "OBP-30208: Account_ID already exists at the Bank.";
pub const VIEW_NAME_NEEDS_UNDERSCORE: &str =
    "OBP-20020: Custom view names must start with `_`. eg: _work, _life.";
pub const INVALID_DAUTH_PROVIDER: &str =
    "OBP-20103: Invalid DAuth provider: it must start with dauth.";
pub const LAST_OWNER: &str = "OBP-30292: The account's last owner cannot be revoked.";
pub const INVALID_ACCOUNT_FIELDS: &str = "OBP-30293: Invalid account: the id is 1 to 255 letters, digits, '.', '_' or '-'; label 1 to 255 characters; product_code 1 to 64 letters, digits, '_', '-' or '.'; currency three capital letters; amount a decimal number.";
pub const INVALID_CUSTOM_VIEW: &str = "OBP-30294: Invalid custom view: names are 2 to 255 letters, digits, spaces, '_', '-' or '.'; description at most 2000 characters; which_alias_to_use public, private or empty; metadata_view a view id.";
pub const CUSTOM_VIEW_EXISTS: &str =
    "OBP-30295: A custom view with this name already exists on the account.";
pub const UNKNOWN_PERMISSION: &str =
    "OBP-30296: allowed_actions names a permission that does not exist.";
pub const SYSTEM_VIEW_IMMUTABLE: &str = "OBP-30297: System views cannot be changed or deleted.";
pub const CONSENT_JWT_INVALID: &str = "OBP-35040: Invalid Consent-JWT: it must be a consent token of this server (ES256, its key, its type), unaltered and within its validity.";
pub const CONSENT_NOT_USABLE: &str = "OBP-35005: Consent-Id is not in status ACCEPTED or VALID.";
pub const CONSENT_OUTSIDE_VALIDITY: &str =
    "OBP-35041: The consent is not valid yet, or has expired.";
pub const CONSENT_WRONG_CONSUMER: &str = "OBP-35015: The Consent does not match a valid Consumer.";
pub const CONSUMER_KEY_HEADER_MISSING: &str = "OBP-35016: The Consumer-Key request header is missing. The request header must contain the Consumer-Key of the Consumer that was used to create the Consent.";
pub const CONSENT_READ_ONLY: &str =
    "OBP-35042: A consent lets a third party read (GET) on the customer's behalf, nothing more.";
pub const GRANTED_AND_REVOKED: &str =
    "OBP-30298: The same view is both granted and revoked in one change.";
pub const CONSUMER_DISABLED: &str = "OBP-20058: Consumer is disabled.";
pub const CONSENT_SCA_METHOD: &str =
    "OBP-35009: Only SMS, EMAIL and IMPLICIT are supported as SCA methods.";
pub const CONSENT_ROLES_NOT_HELD: &str =
    "OBP-35013: Consents can only contain Roles that you already have access to.";
pub const CONSENT_VIEWS_NOT_HELD: &str =
    "OBP-35014: Consents can only contain Views that you already have access to.";
pub const CONSENT_MAX_TTL: &str = "OBP-35020: You exceeded max value of time to live of consents.";
pub const CONSENT_NOT_FOUND: &str = "OBP-35001: Consent not found by CONSENT_ID.";
pub const CONSENT_ALREADY_REVOKED: &str = "OBP-35012: Consent is already revoked.";
pub const CONSENT_STATUS_FIXED: &str = "OBP-35025: The Consent's status cannot be updated.";
pub const CONSENT_VALID_FROM: &str = "OBP-35043: valid_from must be an RFC 3339 time, not more than a minute in the past nor further ahead than the maximum time to live.";
pub const CONSENT_NEEDS_CONSUMER: &str =
    "OBP-35044: Give consumer_id: the current session was not started through a consumer.";
pub const CONSENT_EMPTY_SCOPE: &str =
    "OBP-35045: A consent with everything false needs at least one view or entitlement.";
pub const CONTACT_NOT_VERIFIED: &str = "OBP-30300: Codes go only to an email address or phone number the user has verified: verify it first with POST /obp/v5.1.0/users/current/contact-verifications.";
pub const CUSTOMER_NUMBER_OF_ANOTHER: &str =
    "OBP-30306: This customer number belongs to another user of this bank.";
pub const ONLY_HOLDERS_DELEGATE: &str = "OBP-30307: Only the account's holders may give or define a view that grants, revokes or defines views.";
pub const INVALID_VERIFICATION_CHANNEL: &str = "OBP-30301: Invalid channel: use EMAIL or SMS.";
pub const CONTACT_ALREADY_VERIFIED: &str = "OBP-30302: This contact is already verified.";
pub const TOO_MANY_VERIFICATIONS: &str =
    "OBP-30303: Too many verification codes today for this account: try again tomorrow.";
pub const VERIFICATION_NOT_FOUND: &str = "OBP-30304: Contact verification not found.";
pub const CONTACT_CHANGED: &str =
    "OBP-30305: The contact changed after the code was sent: verify the new one.";
pub const TOO_MANY_SIGN_UPS: &str =
    "OBP-30299: Too many sign-ups from this address: try again later.";
pub const CONSENT_AT_OTHER_BANK: &str = "OBP-35047: A consent holds views and bank roles only at the bank it is created at (system roles anywhere).";
pub const CONSENT_CONTACT_NOT_REGISTERED: &str = "OBP-35046: Codes go only to your registered email address or phone number; the one given is not it.";
pub const USERNAME_TAKEN: &str = "OBP-30274: User with the same username already exists.";
pub const NOT_FOUND: &str = "OBP-10404: 404 Not Found. The requested URL does not exist.";
pub const METHOD_NOT_ALLOWED: &str = "OBP-10405: Method Not Allowed for this URL.";
pub const PAYLOAD_TOO_LARGE: &str = "OBP-10413: Request body too large.";
pub const UNKNOWN_ERROR: &str = "OBP-50000: Unknown Error.";
pub const SERVICE_BUSY: &str = "OBP-10503: The service is busy. Try again shortly.";

/// An OBP error response.
#[derive(Debug, Clone)]
pub struct ObpError {
    pub status: StatusCode,
    pub message: String,
    /// Extra response headers (the rate-limit headers of a 429).
    pub headers: Vec<(&'static str, String)>,
    /// When to try again (every 429 and 503 says it).
    pub retry_after: Option<RetryAfter>,
}

impl ObpError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            headers: Vec::new(),
            retry_after: None,
        }
    }

    /// 429 OBP-10018 with `X-Rate-Limit-Limit`, `X-Rate-Limit-Remaining` and
    /// `X-Rate-Limit-Reset` (seconds until the window ends).
    pub fn too_many_requests(exceeded: &assent_identity::rate_limit::Exceeded) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "OBP-10018: Too Many Requests. We only allow {} requests per {} for this Consumer.",
                exceeded.limit,
                exceeded.period.name()
            ),
        );
        error.headers = vec![
            ("X-Rate-Limit-Limit", exceeded.limit.to_string()),
            ("X-Rate-Limit-Remaining", "0".to_owned()),
            ("X-Rate-Limit-Reset", exceeded.reset_in_seconds.to_string()),
        ];
        error.with_retry_after(RetryAfter::seconds(exceeded.reset_in_seconds))
    }

    /// The same error, telling the client when to try again.
    pub fn with_retry_after(mut self, retry_after: RetryAfter) -> Self {
        self.retry_after = Some(retry_after);
        self
    }

    /// 429 for an allowance counted per UTC day, which comes back at the next midnight.
    pub fn daily_allowance_spent(message: &str) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, message).with_retry_after(RetryAfter::NextUtcDay)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    /// A 500 whose cause goes to the log only; a 503 with `Retry-After` when the cause is the
    /// database being too busy (see [`crate::failure::Internal::is_busy`]).
    pub fn internal(cause: impl Into<crate::failure::Internal>) -> Self {
        match crate::api::log_unexpected(&cause.into()) {
            crate::api::Unexpected::Unavailable { retry_after_secs } => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, SERVICE_BUSY)
                    .with_retry_after(RetryAfter::seconds(retry_after_secs))
            }
            crate::api::Unexpected::Bug => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, UNKNOWN_ERROR)
            }
        }
    }
}

impl fmt::Display for ObpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<assent_repository::RepoError> for ObpError {
    fn from(error: assent_repository::RepoError) -> Self {
        ObpError::internal(error)
    }
}

impl From<crate::services::Internal> for ObpError {
    fn from(error: crate::services::Internal) -> Self {
        ObpError::internal(error)
    }
}

impl ResponseError for ObpError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "DirectLogin realm=\"assent\""));
        }
        for (name, value) in &self.headers {
            response.insert_header((*name, value.as_str()));
        }
        crate::api::insert_retry_after(&mut response, self.status, self.retry_after, &self.message);
        response.json(serde_json::json!({
            "code": self.status.as_u16(),
            "message": self.message,
        }))
    }
}

pub fn generic(kind: GenericError) -> HttpResponse {
    let message = match kind {
        GenericError::NotFound => NOT_FOUND,
        GenericError::MethodNotAllowed => METHOD_NOT_ALLOWED,
        GenericError::PayloadTooLarge => PAYLOAD_TOO_LARGE,
        GenericError::BadJson => INVALID_JSON_FORMAT,
        GenericError::BadQuery => INVALID_QUERY,
        GenericError::Internal => UNKNOWN_ERROR,
    };
    ObpError::new(kind.status(), message).error_response()
}

// How each use case's refusals read in OBP's dialect: every mapping lives below.

impl<R> From<Failure<R>> for ObpError
where
    ObpError: From<R>,
{
    fn from(failure: Failure<R>) -> Self {
        match failure {
            Failure::Refused(refusal) => ObpError::from(refusal),
            Failure::Internal(internal) => ObpError::internal(internal),
        }
    }
}

impl From<SignInRefusal> for ObpError {
    fn from(refusal: SignInRefusal) -> Self {
        use crate::services::consents::ConsentRefusal;
        match refusal {
            SignInRefusal::InvalidSession => ObpError::unauthorized(INVALID_DIRECT_LOGIN_TOKEN),
            SignInRefusal::InvalidConsumer => ObpError::unauthorized(INVALID_CONSUMER_KEY),
            SignInRefusal::Replayed => ObpError::unauthorized(DAUTH_REPLAYED),
            SignInRefusal::UserLocked => ObpError::unauthorized(ACCOUNT_LOCKED),
            SignInRefusal::RateLimited(exceeded) => ObpError::too_many_requests(&exceeded),
            SignInRefusal::Consent(refusal) => ObpError::unauthorized(match refusal {
                ConsentRefusal::NotUsable => CONSENT_NOT_USABLE,
                ConsentRefusal::OutsideValidity => CONSENT_OUTSIDE_VALIDITY,
                ConsentRefusal::WrongConsumer => CONSENT_WRONG_CONSUMER,
                ConsentRefusal::UserLocked => ACCOUNT_LOCKED,
            }),
        }
    }
}

impl From<MissingRoles> for ObpError {
    fn from(MissingRoles(names): MissingRoles) -> Self {
        ObpError::new(
            StatusCode::FORBIDDEN,
            format!("{USER_MISSING_ROLES} {}", names.join(" or ")),
        )
    }
}

impl From<CreateBankRefusal> for ObpError {
    fn from(refusal: CreateBankRefusal) -> Self {
        match refusal {
            CreateBankRefusal::MissingRoles(missing) => missing.into(),
            CreateBankRefusal::Invalid(BankError::InvalidId) => {
                ObpError::bad_request(INVALID_BANK_ID)
            }
            CreateBankRefusal::Invalid(BankError::InvalidName | BankError::InvalidUrl) => {
                ObpError::bad_request(INVALID_BANK_FIELDS)
            }
            CreateBankRefusal::AlreadyExists => {
                ObpError::new(StatusCode::CONFLICT, BANK_ALREADY_EXISTS)
            }
        }
    }
}

impl From<crate::services::otp::DeliveryFailed> for ObpError {
    fn from(_: crate::services::otp::DeliveryFailed) -> Self {
        ObpError::new(StatusCode::SERVICE_UNAVAILABLE, OTP_NOT_DELIVERED).with_retry_after(
            RetryAfter::seconds(crate::services::otp::DeliveryFailed::RETRY_AFTER_SECS),
        )
    }
}

impl From<BankNotFound> for ObpError {
    fn from(BankNotFound: BankNotFound) -> Self {
        ObpError::new(StatusCode::NOT_FOUND, BANK_NOT_FOUND)
    }
}

// --- caller ---

impl From<crate::services::caller::ConsentCannot> for ObpError {
    fn from(_: crate::services::caller::ConsentCannot) -> Self {
        ObpError::new(StatusCode::FORBIDDEN, CONSENT_READ_ONLY)
    }
}

// --- contact verification ---

impl From<crate::services::contact_verifications::VerificationRefusal> for ObpError {
    fn from(refusal: crate::services::contact_verifications::VerificationRefusal) -> Self {
        use crate::services::contact_verifications::VerificationRefusal as R;
        use assent_otp::challenge::{ChallengeState, VerifyError};
        match refusal {
            R::Consent => crate::services::caller::ConsentCannot.into(),
            R::NoContact(crate::delivery::Channel::Email) => {
                ObpError::new(StatusCode::CONFLICT, NO_EMAIL_FOR_EMAIL)
            }
            R::NoContact(crate::delivery::Channel::Sms | crate::delivery::Channel::Voice) => {
                ObpError::new(StatusCode::CONFLICT, NO_PHONE_FOR_SMS)
            }
            R::AlreadyVerified(_) => ObpError::new(StatusCode::CONFLICT, CONTACT_ALREADY_VERIFIED),
            R::AccountQuota => ObpError::daily_allowance_spent(TOO_MANY_VERIFICATIONS),
            R::DestinationQuota => ObpError::daily_allowance_spent(OTP_DESTINATION_QUOTA),
            R::NotFound => ObpError::new(StatusCode::NOT_FOUND, VERIFICATION_NOT_FOUND),
            R::ContactChanged => ObpError::new(StatusCode::CONFLICT, CONTACT_CHANGED),
            R::Answer(VerifyError::Malformed | VerifyError::NoCodeSent) => {
                ObpError::bad_request(format!(
                    "{INVALID_CHALLENGE_ANSWER} The answer is the digits of the code that was sent."
                ))
            }
            R::Answer(
                VerifyError::WrongCode { attempts_left: 0 }
                | VerifyError::NotPending(ChallengeState::Locked),
            ) => ObpError::new(StatusCode::FORBIDDEN, ATTEMPTS_USED_UP),
            R::Answer(VerifyError::WrongCode { attempts_left }) => ObpError::new(
                StatusCode::FORBIDDEN,
                format!("{INVALID_CHALLENGE_ANSWER} {attempts_left} attempts left."),
            ),
            R::Answer(VerifyError::NotPending(ChallengeState::Expired)) => {
                ObpError::new(StatusCode::FORBIDDEN, OTP_EXPIRED)
            }
            R::Answer(VerifyError::NotPending(_)) => {
                ObpError::new(StatusCode::NOT_FOUND, VERIFICATION_NOT_FOUND)
            }
        }
    }
}

// --- accounts and account access ---

impl From<crate::services::access::AccountRefusal> for ObpError {
    fn from(refusal: crate::services::access::AccountRefusal) -> Self {
        use crate::services::access::AccountRefusal as R;
        use assent_view_permissions::access::AccessRefusal;
        use assent_view_permissions::names::ViewNameError;
        use assent_view_permissions::view::{CustomViewError, CustomViewFieldsError};
        match refusal {
            R::MissingRoles(missing) => missing.into(),
            R::ConsentCannot(cannot) => cannot.into(),
            R::BankNotFound => ObpError::new(StatusCode::NOT_FOUND, BANK_NOT_FOUND),
            R::AccountNotFound => ObpError::new(StatusCode::NOT_FOUND, ACCOUNT_NOT_FOUND),
            R::UserNotFound => ObpError::new(StatusCode::NOT_FOUND, USER_NOT_FOUND_BY_ID),
            R::UnknownSystemView(_) => ObpError::bad_request(SYSTEM_VIEW_NOT_FOUND),
            R::UnknownCustomView(_) => ObpError::bad_request(VIEW_NOT_FOUND),
            R::Rule(AccessRefusal::LastOwner) => ObpError::bad_request(LAST_OWNER),
            R::Rule(AccessRefusal::OnlyHoldersDelegate(_)) => {
                ObpError::new(StatusCode::FORBIDDEN, ONLY_HOLDERS_DELEGATE)
            }
            R::Rule(AccessRefusal::Contradictory(_)) => ObpError::bad_request(GRANTED_AND_REVOKED),
            R::Rule(AccessRefusal::MayNotGrant(_) | AccessRefusal::MayNotRevoke(_))
            | R::NotAllowed => ObpError::new(StatusCode::FORBIDDEN, NO_OWNER_ACCESS),
            R::NoSuchGrant(_) => ObpError::bad_request(ACCOUNT_ACCESS_NOT_FOUND),
            R::InvalidAccount(_) => ObpError::bad_request(INVALID_ACCOUNT_FIELDS),
            R::AccountIdTaken => ObpError::new(StatusCode::CONFLICT, ACCOUNT_ID_TAKEN),
            R::InvalidCustomView(CustomViewFieldsError::UnknownPermission(_)) => {
                ObpError::bad_request(UNKNOWN_PERMISSION)
            }
            R::InvalidCustomView(CustomViewFieldsError::Invalid(CustomViewError::Name(
                ViewNameError::MissingUnderscore,
            ))) => ObpError::bad_request(VIEW_NAME_NEEDS_UNDERSCORE),
            R::InvalidCustomView(CustomViewFieldsError::Invalid(_)) => {
                ObpError::bad_request(INVALID_CUSTOM_VIEW)
            }
            R::CustomViewExists => ObpError::new(StatusCode::CONFLICT, CUSTOM_VIEW_EXISTS),
            R::SystemViewImmutable => ObpError::bad_request(SYSTEM_VIEW_IMMUTABLE),
            R::InvalidDAuthProvider => ObpError::bad_request(INVALID_DAUTH_PROVIDER),
            R::InvalidUsername => ObpError::bad_request(INVALID_USERNAME),
        }
    }
}

// --- auth contexts ---

impl From<crate::services::auth_contexts::AuthContextRefusal> for ObpError {
    fn from(refusal: crate::services::auth_contexts::AuthContextRefusal) -> Self {
        use crate::services::auth_contexts::AuthContextRefusal as R;
        match refusal {
            R::MissingRoles(missing) => missing.into(),
            R::Invalid(_) => ObpError::bad_request(INVALID_AUTH_CONTEXT),
            R::UserNotFound => ObpError::new(StatusCode::NOT_FOUND, USER_NOT_FOUND_BY_ID),
            R::NotFound => ObpError::new(StatusCode::NOT_FOUND, AUTH_CONTEXT_NOT_FOUND),
        }
    }
}

// --- auth-context updates ---

impl From<crate::services::auth_context_updates::UpdateRequestRefusal> for ObpError {
    fn from(refusal: crate::services::auth_context_updates::UpdateRequestRefusal) -> Self {
        use crate::delivery::Channel;
        use crate::services::auth_context_updates::UpdateRequestRefusal as R;
        match refusal {
            R::BankNotFound => ObpError::new(StatusCode::NOT_FOUND, BANK_NOT_FOUND),
            R::Invalid(_) => ObpError::bad_request(INVALID_AUTH_CONTEXT),
            R::KeyTaken => ObpError::new(StatusCode::CONFLICT, AUTH_CONTEXT_KEY_TAKEN),
            R::CustomerNumberOfAnother => {
                ObpError::new(StatusCode::CONFLICT, CUSTOMER_NUMBER_OF_ANOTHER)
            }
            R::NoAddress(Channel::Email) => ObpError::new(StatusCode::CONFLICT, NO_EMAIL_FOR_EMAIL),
            R::NoAddress(Channel::Sms | Channel::Voice) => {
                ObpError::new(StatusCode::CONFLICT, NO_PHONE_FOR_SMS)
            }
            R::Unverified(_) => ObpError::new(StatusCode::CONFLICT, CONTACT_NOT_VERIFIED),
            R::DestinationQuota => ObpError::daily_allowance_spent(OTP_DESTINATION_QUOTA),
        }
    }
}

impl From<crate::services::auth_context_updates::AnswerRefusal> for ObpError {
    fn from(refusal: crate::services::auth_context_updates::AnswerRefusal) -> Self {
        use crate::services::auth_context_updates::AnswerRefusal as R;
        use assent_otp::challenge::{ChallengeState, VerifyError};
        match refusal {
            R::NotFound => ObpError::new(StatusCode::NOT_FOUND, AUTH_CONTEXT_UPDATE_NOT_FOUND),
            R::NotInitiated(status) => ObpError::bad_request(format!(
                "{AUTH_CONTEXT_UPDATE_NOT_INITIATED} Its status is {status}."
            )),
            R::KeyTaken => ObpError::new(StatusCode::CONFLICT, AUTH_CONTEXT_KEY_TAKEN),
            R::CustomerNumberOfAnother => {
                ObpError::new(StatusCode::CONFLICT, CUSTOMER_NUMBER_OF_ANOTHER)
            }
            R::Code(VerifyError::Malformed | VerifyError::NoCodeSent) => {
                ObpError::bad_request(format!(
                    "{INVALID_CHALLENGE_ANSWER} The answer is the digits of the code that was sent."
                ))
            }
            R::Code(
                VerifyError::WrongCode { attempts_left: 0 }
                | VerifyError::NotPending(ChallengeState::Locked),
            ) => ObpError::new(StatusCode::FORBIDDEN, ATTEMPTS_USED_UP),
            R::Code(VerifyError::WrongCode { attempts_left }) => ObpError::new(
                StatusCode::FORBIDDEN,
                format!("{INVALID_CHALLENGE_ANSWER} {attempts_left} attempts left."),
            ),
            R::Code(VerifyError::NotPending(ChallengeState::Expired)) => {
                ObpError::new(StatusCode::FORBIDDEN, OTP_EXPIRED)
            }
            R::Code(VerifyError::NotPending(_)) => ObpError::bad_request(format!(
                "{AUTH_CONTEXT_UPDATE_NOT_INITIATED} The code can no longer be answered."
            )),
        }
    }
}

// --- authenticators ---

impl From<crate::services::authenticators::AuthenticatorRefusal> for ObpError {
    fn from(refusal: crate::services::authenticators::AuthenticatorRefusal) -> Self {
        use crate::services::authenticators::AuthenticatorRefusal as R;
        match refusal {
            R::WrongPassword => ObpError::unauthorized(INVALID_LOGIN_CREDENTIALS),
            R::Locked => ObpError::unauthorized(ACCOUNT_LOCKED),
            R::AlreadyRegistered => ObpError::new(StatusCode::CONFLICT, TOTP_ALREADY_REGISTERED),
            R::NotRegistered => ObpError::new(StatusCode::NOT_FOUND, TOTP_NOT_REGISTERED),
            R::Malformed { digits } => ObpError::bad_request(format!(
                "{INVALID_TOTP_CODE} Send the {digits} digits the app shows."
            )),
            R::WrongCode { attempts_left } => ObpError::new(
                StatusCode::FORBIDDEN,
                format!("{INVALID_TOTP_CODE} {attempts_left} attempts left."),
            ),
            R::Discarded => ObpError::new(StatusCode::FORBIDDEN, TOTP_ENROLMENT_DISCARDED),
            R::Busy => ObpError::new(StatusCode::CONFLICT, TOTP_BUSY),
        }
    }
}

// --- consents ---

impl From<crate::services::consents::CreateRefusal> for ObpError {
    fn from(refusal: crate::services::consents::CreateRefusal) -> Self {
        use crate::services::consents::{CreateRefusal, ScaMethod};
        use crate::services::otp::SendRefusal;
        use assent_consent::consent::ConsentError;
        match refusal {
            CreateRefusal::BankNotFound => ObpError::new(StatusCode::NOT_FOUND, BANK_NOT_FOUND),
            CreateRefusal::ConsumerNotFound => {
                ObpError::new(StatusCode::NOT_FOUND, CONSUMER_NOT_FOUND)
            }
            CreateRefusal::Consent => crate::services::caller::ConsentCannot.into(),
            CreateRefusal::ConsumerDisabled => ObpError::bad_request(CONSUMER_DISABLED),
            CreateRefusal::NoConsumer => ObpError::bad_request(CONSENT_NEEDS_CONSUMER),
            CreateRefusal::Invalid(ConsentError::TimeToLive) => {
                ObpError::bad_request(CONSENT_MAX_TTL)
            }
            // Well formed (the handler refuses what is not a time), refused by the clock.
            CreateRefusal::Invalid(ConsentError::ValidFrom) => {
                ObpError::new(StatusCode::UNPROCESSABLE_ENTITY, CONSENT_VALID_FROM)
            }
            CreateRefusal::Invalid(ConsentError::EmptyScope) => {
                ObpError::bad_request(CONSENT_EMPTY_SCOPE)
            }
            // Well formed: the user asks to hand on access they do not hold.
            CreateRefusal::Invalid(ConsentError::RoleNotHeld(_)) => {
                ObpError::new(StatusCode::FORBIDDEN, CONSENT_ROLES_NOT_HELD)
            }
            CreateRefusal::Invalid(ConsentError::ViewNotHeld(_)) => {
                ObpError::new(StatusCode::FORBIDDEN, CONSENT_VIEWS_NOT_HELD)
            }
            // The body's banks against the path's: a rule between parts the document cannot state.
            CreateRefusal::Invalid(
                ConsentError::ViewAtOtherBank(_) | ConsentError::RoleAtOtherBank(_),
            ) => ObpError::new(StatusCode::UNPROCESSABLE_ENTITY, CONSENT_AT_OTHER_BANK),
            CreateRefusal::NoDestination(ScaMethod::Email) => {
                ObpError::new(StatusCode::CONFLICT, NO_EMAIL_FOR_EMAIL)
            }
            CreateRefusal::NoDestination(_) => {
                ObpError::new(StatusCode::CONFLICT, NO_PHONE_FOR_SMS)
            }
            CreateRefusal::Unverified(_) => {
                ObpError::new(StatusCode::CONFLICT, CONTACT_NOT_VERIFIED)
            }
            CreateRefusal::NotRegistered => {
                ObpError::new(StatusCode::CONFLICT, CONSENT_CONTACT_NOT_REGISTERED)
            }
            CreateRefusal::Send(SendRefusal::DestinationQuota) => {
                ObpError::daily_allowance_spent(OTP_DESTINATION_QUOTA)
            }
            // A new challenge is never resent; nothing else can refuse one.
            CreateRefusal::Send(SendRefusal::Resend(e)) => ObpError::internal(
                crate::services::Internal::Invariant(format!("a new challenge refused: {e}")),
            ),
            CreateRefusal::NotDelivered => crate::services::otp::DeliveryFailed.into(),
        }
    }
}

impl From<crate::services::consents::AnswerRefusal> for ObpError {
    fn from(refusal: crate::services::consents::AnswerRefusal) -> Self {
        use crate::services::consents::AnswerRefusal;
        use assent_otp::challenge::{ChallengeState, VerifyError};
        match refusal {
            AnswerRefusal::Consent => crate::services::caller::ConsentCannot.into(),
            AnswerRefusal::NotFound => ObpError::new(StatusCode::NOT_FOUND, CONSENT_NOT_FOUND),
            AnswerRefusal::NotInitiated(status) => {
                ObpError::bad_request(format!("{CONSENT_STATUS_FIXED} Its status is {status}."))
            }
            AnswerRefusal::Refused(VerifyError::Malformed | VerifyError::NoCodeSent) => {
                ObpError::bad_request(format!(
                    "{INVALID_CHALLENGE_ANSWER} The answer is the digits of the code that was sent."
                ))
            }
            AnswerRefusal::Refused(
                VerifyError::WrongCode { attempts_left: 0 }
                | VerifyError::NotPending(ChallengeState::Locked),
            ) => ObpError::new(StatusCode::FORBIDDEN, ATTEMPTS_USED_UP),
            AnswerRefusal::Refused(VerifyError::WrongCode { attempts_left }) => ObpError::new(
                StatusCode::FORBIDDEN,
                format!("{INVALID_CHALLENGE_ANSWER} {attempts_left} attempts left."),
            ),
            AnswerRefusal::Refused(VerifyError::NotPending(ChallengeState::Expired)) => {
                ObpError::new(StatusCode::FORBIDDEN, OTP_EXPIRED)
            }
            AnswerRefusal::Refused(VerifyError::NotPending(_)) => {
                ObpError::bad_request(CONSENT_STATUS_FIXED)
            }
        }
    }
}

impl From<crate::services::consents::ListRefusal> for ObpError {
    fn from(refusal: crate::services::consents::ListRefusal) -> Self {
        use crate::services::consents::ListRefusal;
        match refusal {
            ListRefusal::Consent => crate::services::caller::ConsentCannot.into(),
            ListRefusal::BankNotFound => ObpError::new(StatusCode::NOT_FOUND, BANK_NOT_FOUND),
        }
    }
}

impl From<crate::services::consents::RevokeRefusal> for ObpError {
    fn from(refusal: crate::services::consents::RevokeRefusal) -> Self {
        use crate::services::consents::RevokeRefusal;
        match refusal {
            RevokeRefusal::Consent => crate::services::caller::ConsentCannot.into(),
            RevokeRefusal::BankNotFound => ObpError::new(StatusCode::NOT_FOUND, BANK_NOT_FOUND),
            RevokeRefusal::NotFound => ObpError::new(StatusCode::NOT_FOUND, CONSENT_NOT_FOUND),
            RevokeRefusal::NotRevocable(status) if status == "REVOKED" => {
                ObpError::bad_request(CONSENT_ALREADY_REVOKED)
            }
            RevokeRefusal::NotRevocable(status) => {
                ObpError::bad_request(format!("{CONSENT_STATUS_FIXED} Its status is {status}."))
            }
        }
    }
}

impl From<crate::services::consents::DetailsRefusal> for ObpError {
    fn from(refusal: crate::services::consents::DetailsRefusal) -> Self {
        use crate::services::consents::DetailsRefusal;
        match refusal {
            DetailsRefusal::Consent => crate::services::caller::ConsentCannot.into(),
            DetailsRefusal::NotFound => ObpError::new(StatusCode::NOT_FOUND, CONSENT_NOT_FOUND),
        }
    }
}

// --- OBP administration: consumers, roles, entitlement requests, locks, users, sessions ---

impl From<crate::services::consumers::ConsumerRefusal> for ObpError {
    fn from(refusal: crate::services::consumers::ConsumerRefusal) -> Self {
        use crate::services::consumers::ConsumerRefusal;
        match refusal {
            ConsumerRefusal::MissingRoles(missing) => missing.into(),
            ConsumerRefusal::InvalidName(_) | ConsumerRefusal::InvalidFields => {
                ObpError::bad_request(INVALID_CONSUMER_FIELDS)
            }
            ConsumerRefusal::InvalidCallLimits => ObpError::bad_request(INVALID_CALL_LIMITS),
            ConsumerRefusal::NotFound => ObpError::new(StatusCode::NOT_FOUND, CONSUMER_NOT_FOUND),
        }
    }
}

impl From<crate::services::roles::InvalidRole> for ObpError {
    fn from(invalid: crate::services::roles::InvalidRole) -> Self {
        use crate::services::roles::InvalidRole;
        match invalid {
            InvalidRole::Unknown(role_name) => ObpError::bad_request(format!(
                "{INCORRECT_ROLE_NAME} {role_name}. Possible roles are {}",
                assent_identity::roles::ROLES
                    .iter()
                    .map(|r| r.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            InvalidRole::BankIdRequired => ObpError::bad_request(ENTITLEMENT_IS_BANK_ROLE),
            InvalidRole::BankIdNotAllowed => ObpError::bad_request(ENTITLEMENT_IS_SYSTEM_ROLE),
        }
    }
}

impl From<crate::services::roles::EntitlementRefusal> for ObpError {
    fn from(refusal: crate::services::roles::EntitlementRefusal) -> Self {
        use crate::services::roles::EntitlementRefusal;
        match refusal {
            EntitlementRefusal::MissingRoles(missing) => missing.into(),
            EntitlementRefusal::InvalidRole(invalid) => invalid.into(),
            EntitlementRefusal::BankNotFound => BankNotFound.into(),
            EntitlementRefusal::UserNotFound => {
                ObpError::new(StatusCode::NOT_FOUND, USER_NOT_FOUND_BY_ID)
            }
            EntitlementRefusal::AlreadyExists => {
                ObpError::new(StatusCode::CONFLICT, ENTITLEMENT_ALREADY_EXISTS)
            }
            EntitlementRefusal::NotFound => {
                ObpError::new(StatusCode::NOT_FOUND, ENTITLEMENT_NOT_FOUND)
            }
        }
    }
}

impl From<crate::services::entitlement_requests::RequestRefusal> for ObpError {
    fn from(refusal: crate::services::entitlement_requests::RequestRefusal) -> Self {
        use crate::services::entitlement_requests::RequestRefusal;
        match refusal {
            RequestRefusal::MissingRoles(missing) => missing.into(),
            RequestRefusal::ConsentCannot(cannot) => cannot.into(),
            RequestRefusal::InvalidRole(invalid) => invalid.into(),
            RequestRefusal::BankNotFound => BankNotFound.into(),
            RequestRefusal::UserNotFound => {
                ObpError::new(StatusCode::NOT_FOUND, USER_NOT_FOUND_BY_ID)
            }
            RequestRefusal::AlreadyExists => {
                ObpError::new(StatusCode::CONFLICT, ENTITLEMENT_REQUEST_ALREADY_EXISTS)
            }
            RequestRefusal::NotFound => {
                ObpError::new(StatusCode::NOT_FOUND, ENTITLEMENT_REQUEST_NOT_FOUND)
            }
        }
    }
}

impl From<crate::services::users::RegisterRefusal> for ObpError {
    fn from(refusal: crate::services::users::RegisterRefusal) -> Self {
        use crate::services::users::RegisterRefusal;
        use assent_identity::RegistrationError;
        use assent_identity::password::PasswordPolicyError;
        match refusal {
            RegisterRefusal::TooManyFromClient { retry_after_secs } => {
                ObpError::new(StatusCode::TOO_MANY_REQUESTS, TOO_MANY_SIGN_UPS)
                    .with_retry_after(RetryAfter::seconds(retry_after_secs))
            }
            RegisterRefusal::Invalid(RegistrationError::InvalidUsername) => {
                ObpError::bad_request(INVALID_USERNAME)
            }
            RegisterRefusal::Invalid(RegistrationError::InvalidEmail) => {
                ObpError::bad_request(INVALID_EMAIL)
            }
            RegisterRefusal::Invalid(RegistrationError::InvalidName { .. }) => {
                ObpError::bad_request(INVALID_NAME)
            }
            RegisterRefusal::Invalid(RegistrationError::InvalidPhoneNumber) => {
                ObpError::bad_request(INVALID_PHONE_NUMBER)
            }
            RegisterRefusal::Invalid(RegistrationError::Password(PasswordPolicyError::Format)) => {
                ObpError::bad_request(INVALID_PASSWORD_FORMAT)
            }
            RegisterRefusal::Invalid(RegistrationError::Password(
                PasswordPolicyError::TooCommon,
            )) => ObpError::new(StatusCode::UNPROCESSABLE_ENTITY, PASSWORD_TOO_COMMON),
            RegisterRefusal::UsernameTaken => ObpError::new(StatusCode::CONFLICT, USERNAME_TAKEN),
        }
    }
}

impl From<crate::services::auth::LoginRefusal> for ObpError {
    fn from(refusal: crate::services::auth::LoginRefusal) -> Self {
        use crate::services::auth::LoginRefusal;
        ObpError::unauthorized(match refusal {
            LoginRefusal::InvalidConsumer => INVALID_CONSUMER_KEY,
            LoginRefusal::InvalidCredentials => INVALID_LOGIN_CREDENTIALS,
            LoginRefusal::Locked => ACCOUNT_LOCKED,
        })
    }
}

impl From<crate::services::auth::NoSessionToEnd> for ObpError {
    fn from(_: crate::services::auth::NoSessionToEnd) -> Self {
        ObpError::bad_request(NO_SESSION_TO_END)
    }
}

impl From<crate::services::locks::LockRefusal> for ObpError {
    fn from(refusal: crate::services::locks::LockRefusal) -> Self {
        use crate::services::locks::LockRefusal;
        match refusal {
            LockRefusal::MissingRoles(missing) => missing.into(),
            LockRefusal::UserNotFound => {
                ObpError::new(StatusCode::NOT_FOUND, USER_NOT_FOUND_BY_USERNAME)
            }
            LockRefusal::AmbiguousUsername => {
                ObpError::new(StatusCode::BAD_REQUEST, USERNAME_AT_SEVERAL_PROVIDERS)
            }
        }
    }
}

impl From<crate::services::user_queries::UserQueryRefusal> for ObpError {
    fn from(refusal: crate::services::user_queries::UserQueryRefusal) -> Self {
        use crate::services::user_queries::UserQueryRefusal;
        match refusal {
            UserQueryRefusal::MissingRoles(missing) => missing.into(),
            UserQueryRefusal::NoUserWithUsername => {
                ObpError::new(StatusCode::NOT_FOUND, USER_NOT_FOUND_BY_USERNAME)
            }
            UserQueryRefusal::NoUserWithId => {
                ObpError::new(StatusCode::NOT_FOUND, USER_NOT_FOUND_BY_ID)
            }
            UserQueryRefusal::NoUserWithEmail => {
                ObpError::new(StatusCode::NOT_FOUND, USER_NOT_FOUND_BY_EMAIL)
            }
            UserQueryRefusal::InvalidLimit => ObpError::bad_request(INVALID_LIMIT),
            UserQueryRefusal::InvalidOffset => ObpError::bad_request(INVALID_OFFSET),
            UserQueryRefusal::InvalidSortDirection => ObpError::bad_request(INVALID_SORT_DIRECTION),
            UserQueryRefusal::InvalidLockedStatus => ObpError::bad_request(INVALID_LOCKED_STATUS),
        }
    }
}

impl From<crate::services::audit_events::AuditRefusal> for ObpError {
    fn from(refusal: crate::services::audit_events::AuditRefusal) -> Self {
        use crate::services::audit_events::AuditRefusal;
        match refusal {
            AuditRefusal::MissingRoles(missing) => missing.into(),
            AuditRefusal::InvalidLimit => ObpError::bad_request(INVALID_LIMIT),
            AuditRefusal::InvalidOffset => ObpError::bad_request(INVALID_OFFSET),
            AuditRefusal::InvalidDate => ObpError::bad_request(INVALID_DATE),
            AuditRefusal::InvalidUserId => ObpError::bad_request(INVALID_USER_ID_PARAMETER),
            AuditRefusal::InvalidParameter => ObpError::bad_request(INVALID_QUERY),
        }
    }
}

impl From<crate::services::my_sessions::SessionRefusal> for ObpError {
    fn from(refusal: crate::services::my_sessions::SessionRefusal) -> Self {
        use crate::services::my_sessions::SessionRefusal;
        match refusal {
            SessionRefusal::MissingRoles(missing) => missing.into(),
            SessionRefusal::NotFound => ObpError::new(StatusCode::NOT_FOUND, SESSION_NOT_FOUND),
            SessionRefusal::UserNotFound => {
                ObpError::new(StatusCode::NOT_FOUND, USER_NOT_FOUND_BY_ID)
            }
        }
    }
}

#[cfg(test)]
mod documentation {
    /// Every `OBP-NNNNN` this module defines.
    fn codes(source: &str) -> Vec<&str> {
        source
            .match_indices("OBP-")
            .filter_map(|(at, _)| source.get(at..at + 9))
            .filter(|code| code[4..].bytes().all(|b| b.is_ascii_digit()))
            .collect()
    }

    #[test]
    fn every_error_number_is_defined_once() {
        let source = include_str!("errors.rs");
        let mut seen = std::collections::HashSet::new();
        for declaration in source.split("pub const ").skip(1) {
            if let Some(code) = codes(declaration).first() {
                assert!(seen.insert(*code), "{code} is defined twice");
            }
        }
        assert!(seen.len() > 30);
    }

    #[test]
    fn docs_list_every_error_number() {
        let doc = include_str!("../../../../../docs/errors.md");
        let source = include_str!("errors.rs");
        let found = codes(source);
        assert!(found.len() > 30);
        for code in found {
            assert!(doc.contains(code), "docs/errors.md lacks {code}");
        }
    }
}
