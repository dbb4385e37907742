//! The OpenAPI 3.1 document, generated from the handlers' annotations. OBP endpoints are
//! written once under v5.1.0 and copied to every other version they answer under.

use crate::api::{Dialect, OBP_VERSIONS};
use actix_web::http::Method;
use actix_web::{HttpResponse, web};
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{Content, Header, Ref, RefOr, Response};

#[derive(OpenApi)]
#[openapi(
    info(title = "Assent", description = "Security core for banking APIs: Open Bank Project, Apiture and Temenos Infinity families."),
    paths(
        crate::api::obp::users::create_user,
        crate::api::obp::users::current_user,
        crate::api::obp::login::direct_login,
        crate::api::obp::login::logout,
        crate::api::obp::login::certs,
        crate::api::obp::api_info::root,
        crate::api::obp::api_info::api_root,
        crate::api::obp::api_info::jwks_uris,
        crate::api::obp::api_info::rate_limiting,
        crate::api::obp::user_queries::all_users,
        crate::api::obp::user_queries::by_username,
        crate::api::obp::user_queries::by_user_id,
        crate::api::obp::user_queries::by_email,
        crate::api::obp::locks::get_lock_status,
        crate::api::obp::contact_verifications::start_verification,
        crate::api::obp::contact_verifications::answer_verification,
        crate::api::obp::permissions::account_permissions,
        crate::api::obp::permissions::user_permissions,
        crate::api::obp::permissions::grant_view,
        crate::api::obp::permissions::grant_views,
        crate::api::obp::permissions::revoke_view,
        crate::api::obp::permissions::revoke_all_views,
        crate::api::obp::audit_events::list_audit_events,
        crate::api::obp::locks::unlock_user,
        crate::api::obp::locks::lock_user,
        crate::api::obp::roles::get_roles,
        crate::api::obp::roles::add_entitlement,
        crate::api::obp::roles::user_entitlements,
        crate::api::obp::roles::delete_entitlement,
        crate::api::obp::roles::my_entitlements,
        crate::api::obp::roles::all_entitlements,
        crate::api::obp::roles::bank_user_entitlements,
        crate::api::obp::entitlement_requests::create_entitlement_request,
        crate::api::obp::entitlement_requests::all_entitlement_requests,
        crate::api::obp::entitlement_requests::delete_entitlement_request,
        crate::api::obp::entitlement_requests::my_entitlement_requests,
        crate::api::obp::entitlement_requests::user_entitlement_requests,
        crate::api::obp::auth_contexts::create_auth_context,
        crate::api::obp::accounts::create_account,
        crate::api::obp::accounts::list_views,
        crate::api::obp::accounts::create_custom_view,
        crate::api::obp::accounts::update_custom_view,
        crate::api::obp::accounts::delete_custom_view,
        crate::api::obp::accounts::grant,
        crate::api::obp::accounts::revoke,
        crate::api::obp::accounts::bulk,
        crate::api::obp::accounts::dauth_user_access,
        crate::api::obp::accounts::refresh_user,
        crate::api::obp::accounts::my_access,
        crate::api::obp::consents::create_consent,
        crate::api::obp::consents::answer_consent_challenge,
        crate::api::obp::consents::my_consents,
        crate::api::obp::consents::revoke_consent_get,
        crate::api::obp::consents::revoke_consent,
        crate::api::obp::consents::consent_details,
        crate::api::obp::accounts::user_access,
        crate::api::obp::my_sessions::list,
        crate::api::obp::my_sessions::end_one,
        crate::api::obp::my_sessions::end_others,
        crate::api::obp::my_sessions::end_all_of_user,
        crate::api::obp::authenticators::enrol,
        crate::api::obp::authenticators::confirm,
        crate::api::obp::authenticators::remove,
        crate::api::obp::auth_context_updates::create_update_request,
        crate::api::obp::auth_context_updates::answer_challenge,
        crate::api::obp::auth_contexts::list_auth_contexts,
        crate::api::obp::auth_contexts::delete_auth_contexts,
        crate::api::obp::auth_contexts::delete_auth_context,
        crate::api::obp::consumers::create_consumer,
        crate::api::obp::consumers::get_consumers,
        crate::api::obp::consumers::get_consumer,
        crate::api::obp::consumers::set_enabled,
        crate::api::obp::consumers::set_redirect_url,
        crate::api::obp::consumers::get_call_limits,
        crate::api::obp::consumers::set_call_limits,
        crate::api::obp::consumers::my_consumers,
        crate::api::obp::banks::create_bank,
        crate::api::obp::banks::get_banks,
        crate::api::obp::banks::get_bank,
        crate::api::temenos::mfa::request_pre_login,
        crate::api::temenos::mfa::verify_pre_login,
        crate::api::temenos::mfa::request_security_questions_update,
        crate::api::temenos::mfa::verify_security_questions_update,
        crate::api::temenos::mfa::security_questions,
        crate::api::temenos::mfa::update_security_questions,
        crate::api::apiture::sessions::terminate,
        crate::api::apiture::sessions::resume,
        crate::api::apiture::challenges::start_factor,
        crate::api::apiture::challenges::verify_factor,
        crate::api::oauth2::introspect,
        crate::api::health::live,
        crate::api::health::live_head,
        crate::api::health::ready,
        crate::api::health::ready_head,
        crate::api::health::metrics,
        openapi_json,
    ),
    modifiers(&SecuritySchemes, &SharedResponses, &EntitlementBodies, &ParameterText)
)]
struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "directLogin",
            header_scheme(
                "DirectLogin",
                "token=<session token from POST /my/logins/direct>; also accepted as `Authorization: DirectLogin token=...`",
            ),
        );
        // A consent is used with two headers at once: operations name both schemes in one
        // security requirement, so a client sends them together.
        components.add_security_scheme(
            "consentJwt",
            header_scheme(
                "Consent-JWT",
                "A consent's JWT (from answering its challenge); sent together with Consumer-Key, the key of the consumer the consent was given to. A consent only reads (GET) and reaches what it names",
            ),
        );
        components.add_security_scheme(
            "consumerKey",
            header_scheme(
                "Consumer-Key",
                "The key of the consumer a consent was given to; sent together with Consent-JWT",
            ),
        );
        components.add_security_scheme(
            "systemKey",
            SecurityScheme::Http(
                utoipa::openapi::security::HttpBuilder::new()
                    .scheme(utoipa::openapi::security::HttpAuthScheme::Bearer)
                    .description(Some(
                        "A system API key from `assentd admin create-system-key` (Apiture endpoints)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "konyAuthorization",
            header_scheme(
                "X-Kony-Authorization",
                "The session token from POST /my/logins/direct (Temenos Infinity endpoints)",
            ),
        );
        components.add_security_scheme(
            "dAuth",
            header_scheme(
                "DAuth",
                "An RS256 JWT from an allowed host with smart_contract_address, network_name, consumer_key, timestamp and request_id; accepted, when the server enables DAuth (off by default), wherever directLogin is except logout (a DAuth call has no session to end)",
            ),
        );
    }
}

/// The answers an operation shares with every operation of its kind, so that annotations keep
/// only what is particular to one operation. Each is derived from what the document already
/// says of the operation, the same facts the server acts on:
///
/// - its family, by path (as [`Dialect::for_path`] decides the error dialect): every error
///   answer of an OBP, Apiture or Temenos operation carries that dialect's body and media type
///   (`application/json` with `ErrorJson`, `application/problem+json` with `ApitureProblem`,
///   `application/json` with `TemenosError`), whatever the annotation wrote;
/// - its security: a secured operation answers 401; one called through a consumer's session
///   (every OBP and Temenos scheme, not the Apiture system key) is counted against the
///   consumer's call limits, so it answers 429 (OBP: with `X-Rate-Limit-*`) and 503 when the
///   shared limit store cannot be reached;
/// - its inputs: a body may be too large (413) or not the JSON asked for (400), a query may not
///   parse (400), a path parameter may name nothing (404, also for control characters);
/// - storage: an operation that is secured or takes a body reads or writes the database, and
///   answers 503 when the database is too busy or unreachable.
///
/// Every 429 and 503 carries `Retry-After` (seconds).
struct SharedResponses;

/// The dialect an operation's errors are rendered in, or `None` for the operational routes
/// (health, metrics, introspection), whose annotations say all they answer.
fn family(path: &str) -> Option<Dialect> {
    let in_family = ["/obp/", "/my/", "/system/", "/services/"]
        .iter()
        .any(|prefix| path.starts_with(prefix));
    in_family.then(|| Dialect::for_path(path))
}

fn dialect_error(dialect: Dialect) -> (&'static str, &'static str) {
    match dialect {
        Dialect::Obp => ("application/json", "ErrorJson"),
        Dialect::Apiture => ("application/problem+json", "ApitureProblem"),
        Dialect::Temenos => ("application/json", "TemenosError"),
    }
}

fn seconds_header(description: &str) -> Header {
    let mut header = Header::new(
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(0)),
    );
    header.description = Some(description.to_owned());
    header
}

/// The shared answers of one operation: (status, description).
fn shared_statuses(dialect: Dialect, operation: &Operation, path: &str) -> Vec<(u16, String)> {
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    let call_limited = secured && dialect != Dialect::Apiture;
    let has_body = operation.request_body.is_some();
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let has_query = parameters
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Query));
    let has_path = path.contains('{');
    let mut statuses = Vec::new();
    if has_body {
        statuses.push((
            400,
            "The body is not JSON of the shape asked for".to_owned(),
        ));
        statuses.push((413, "The body is larger than the server accepts".to_owned()));
    } else if has_query {
        statuses.push((400, "The query parameters are not valid".to_owned()));
    }
    if secured {
        statuses.push((401, "No valid credentials".to_owned()));
    }
    if has_path {
        statuses.push((404, "A path parameter names nothing there is".to_owned()));
    }
    if call_limited {
        let code = match dialect {
            Dialect::Obp => "OBP-10018 ",
            Dialect::Temenos => "10819 ",
            Dialect::Apiture => "",
        };
        statuses.push((
            429,
            format!("{code}the consumer's call limit is reached (see Retry-After)"),
        ));
    }
    if secured || has_body {
        let store = if call_limited {
            " or the call limit store"
        } else {
            ""
        };
        statuses.push((
            503,
            format!("The database{store} is too busy or cannot be reached (see Retry-After)"),
        ));
    }
    statuses
}

impl utoipa::Modify for SharedResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.schemas.insert(
            "ApitureProblem".to_owned(),
            ObjectBuilder::new()
                .description(Some("An RFC 9457 problem, as Apiture answers errors"))
                .property("id", ObjectBuilder::new().schema_type(Type::String))
                .property("type", ObjectBuilder::new().schema_type(Type::String))
                .property("title", ObjectBuilder::new().schema_type(Type::String))
                .property("status", ObjectBuilder::new().schema_type(Type::Integer))
                .property("occurredAt", ObjectBuilder::new().schema_type(Type::String))
                .property("detail", ObjectBuilder::new().schema_type(Type::String))
                .property("instance", ObjectBuilder::new().schema_type(Type::String))
                .property(
                    "problems",
                    utoipa::openapi::schema::ArrayBuilder::new()
                        .items(ObjectBuilder::new().schema_type(Type::Object))
                        .description(Some("The problems this one groups, each a problem")),
                )
                .property("attributes", ObjectBuilder::new().schema_type(Type::Object))
                .required("id")
                .required("type")
                .required("title")
                .required("status")
                .required("occurredAt")
                .required("detail")
                .required("instance")
                .into(),
        );
        components.schemas.insert(
            "TemenosError".to_owned(),
            ObjectBuilder::new()
                .description(Some(
                    "A Temenos Infinity error: opstatus (the errcode, never \"0\"), the HTTP status as httpStatusCode, errcode, errmsg; MFAAttributes where attempts are left",
                ))
                .property("opstatus", ObjectBuilder::new().schema_type(Type::String))
                .property("httpStatusCode", ObjectBuilder::new().schema_type(Type::String))
                .property("errcode", ObjectBuilder::new().schema_type(Type::Integer))
                .property("errmsg", ObjectBuilder::new().schema_type(Type::String))
                .property("MFAAttributes", ObjectBuilder::new().schema_type(Type::Object))
                .required("opstatus")
                .required("httpStatusCode")
                .required("errcode")
                .required("errmsg")
                .into(),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            let Some(dialect) = family(path) else {
                continue;
            };
            let (media_type, schema) = dialect_error(dialect);
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                let shared = shared_statuses(dialect, operation, path);
                let call_limited = shared.iter().any(|(status, _)| *status == 429);
                let responses = &mut operation.responses.responses;
                for (status, description) in shared {
                    responses
                        .entry(status.to_string())
                        .or_insert_with(|| RefOr::T(Response::new(description)));
                }
                for (status, response) in responses.iter_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    if !status.starts_with('4') && !status.starts_with('5') {
                        continue;
                    }
                    response.content.clear();
                    response.content.insert(
                        media_type.to_owned(),
                        Content::new(Some(RefOr::Ref(Ref::from_schema_name(schema)))),
                    );
                    if status == "429" || status == "503" {
                        response.headers.insert(
                            "Retry-After".to_owned(),
                            seconds_header("Seconds to wait before trying again"),
                        );
                    }
                    if status == "429" && call_limited && dialect == Dialect::Obp {
                        for (name, description) in [
                            ("X-Rate-Limit-Limit", "The call limit reached (OBP-10018)"),
                            (
                                "X-Rate-Limit-Remaining",
                                "Calls left in the window: 0 (OBP-10018)",
                            ),
                            (
                                "X-Rate-Limit-Reset",
                                "Seconds until the window ends (OBP-10018)",
                            ),
                        ] {
                            response
                                .headers
                                .insert(name.to_owned(), seconds_header(description));
                        }
                    }
                }
            }
        }
    }
}

/// Query and header parameters as the server reads them. The server refuses a query string
/// holding an ASCII control character (`edge` in `api/mod.rs`, 400 in the family's dialect), so
/// every free-text query parameter says so (parameters with a pattern or a format of their own
/// already exclude them). A query or header carries text: an optional one is left out, never
/// sent as `null`, so an `Option` there is a string that may be missing, not a nullable one.
struct ParameterText;

/// Text without ASCII control characters.
const NO_CONTROL: &str = "^[^\\u0000-\\u001f\\u007f]*$";

impl utoipa::Modify for ParameterText {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{Schema, SchemaType};
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.head,
            ]
            .into_iter()
            .flatten()
            {
                for parameter in operation.parameters.iter_mut().flatten() {
                    let query = matches!(parameter.parameter_in, ParameterIn::Query);
                    if !query && !matches!(parameter.parameter_in, ParameterIn::Header) {
                        continue;
                    }
                    let Some(RefOr::T(Schema::Object(object))) = &mut parameter.schema else {
                        continue;
                    };
                    if let SchemaType::Array(types) = &object.schema_type {
                        let present: Vec<Type> = types
                            .iter()
                            .filter(|t| **t != Type::Null)
                            .cloned()
                            .collect();
                        object.schema_type = match present.as_slice() {
                            [one] => SchemaType::Type(one.clone()),
                            _ => SchemaType::Array(present),
                        };
                    }
                    let text = matches!(&object.schema_type, SchemaType::Type(Type::String));
                    if query && text && object.pattern.is_none() && object.format.is_none() {
                        object.pattern = Some(NO_CONTROL.to_owned());
                    }
                }
            }
        }
    }
}

/// The bodies that ask for a role: a system role with an empty `bank_id`, or a bank role with a
/// bank's id, as the role catalogue says (`assent_identity::roles::check_entitlement`). A role
/// outside the catalogue, or at the wrong level, is a malformed request (400), so the document
/// says which pairs are well formed rather than leave them to be refused.
struct EntitlementBodies;

impl utoipa::Modify for EntitlementBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use assent_identity::roles::ROLES;
        use utoipa::openapi::schema::OneOfBuilder;
        let roles = |at_bank: bool| {
            ROLES
                .iter()
                .filter(|role| role.requires_bank_id() == at_bank)
                .map(|role| role.name())
                .collect::<Vec<_>>()
        };
        let variant = |at_bank: bool| {
            let bank = ObjectBuilder::new().schema_type(Type::String);
            let bank = if at_bank {
                bank.pattern(Some("^[A-Za-z0-9._-]{1,255}$"))
                    .description(Some("The bank the role applies at"))
            } else {
                bank.enum_values(Some([""]))
                    .description(Some("Empty: a system role applies at no bank"))
            };
            ObjectBuilder::new()
                .property("bank_id", bank)
                .property(
                    "role_name",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(roles(at_bank))),
                )
                .required("bank_id")
                .required("role_name")
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        // A consent asks for everything, or for at least one view or role (OBP-35045).
        if let Some(RefOr::T(consent)) = components.schemas.remove("CreateConsentJson") {
            use utoipa::openapi::schema::{AllOfBuilder, AnyOfBuilder, ArrayBuilder};
            let asks = |property: &str, schema: RefOr<utoipa::openapi::schema::Schema>| {
                ObjectBuilder::new()
                    .property(property, schema)
                    .required(property)
            };
            let scope = AnyOfBuilder::new()
                .item(asks(
                    "everything",
                    ObjectBuilder::new()
                        .schema_type(Type::Boolean)
                        .enum_values(Some([true]))
                        .into(),
                ))
                .item(asks("views", ArrayBuilder::new().min_items(Some(1)).into()))
                .item(asks(
                    "entitlements",
                    ArrayBuilder::new().min_items(Some(1)).into(),
                ));
            let whole = AllOfBuilder::new().item(consent).item(scope);
            components
                .schemas
                .insert("CreateConsentJson".to_owned(), whole.into());
        }
        for name in ["CreateEntitlementJson", "CreateEntitlementRequestJson"] {
            let schema = OneOfBuilder::new()
                .description(Some(
                    "A role from GET /roles: a system role with bank_id \"\", or a bank role with the bank's id",
                ))
                .item(variant(false))
                .item(variant(true));
            components.schemas.insert(name.to_owned(), schema.into());
        }
    }
}

/// A credential sent in the request header `name`.
fn header_scheme(name: &str, description: &str) -> SecurityScheme {
    SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
        name,
        description,
    )))
}

/// The whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let template = "/obp/v5.1.0/";
    let copies: Vec<(String, utoipa::openapi::PathItem)> = doc
        .paths
        .paths
        .iter()
        .filter(|(path, _)| path.starts_with(template))
        .flat_map(|(path, item)| {
            OBP_VERSIONS
                .iter()
                .filter(|v| **v != "v5.1.0")
                .map(move |v| (path.replacen("v5.1.0", v, 1), copy_for_version(item, v)))
        })
        .collect();
    doc.paths.paths.extend(copies);
    doc
}

/// An OBP path item copied to another version: the same operations, each with an id of its own
/// (the v5.1.0 id and the version, `create_user_v3_1_0`), as OpenAPI requires ids to be unique
/// and code generators name their functions by them.
fn copy_for_version(item: &utoipa::openapi::PathItem, version: &str) -> utoipa::openapi::PathItem {
    let mut copy = item.clone();
    let suffix = version.replace('.', "_");
    for operation in [
        &mut copy.get,
        &mut copy.put,
        &mut copy.post,
        &mut copy.delete,
        &mut copy.options,
        &mut copy.head,
        &mut copy.patch,
        &mut copy.trace,
    ]
    .into_iter()
    .flatten()
    {
        if let Some(id) = &operation.operation_id {
            operation.operation_id = Some(format!("{id}_{suffix}"));
        }
    }
    copy
}

pub fn endpoints() -> Vec<crate::api::RouteSpec> {
    vec![(Method::GET, "/openapi.json", || {
        web::route().to(openapi_json)
    })]
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object)))]
pub async fn openapi_json(state: web::Data<crate::state::AppState>) -> HttpResponse {
    let body = state.openapi_json.get_or_init(|| {
        serde_json::to_vec(&served(&state.config))
            .expect("an OpenAPI document is plain data with string keys, so it serialises")
            .into()
    });
    HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(body.clone())
}

/// The document as this server serves it: its public base URL (`provider`) as its one server,
/// so that explorers and generated clients call this server, and the one-time code answers as
/// long as its configuration makes them (`otp_code_length`; authenticator apps enrolled here
/// show 6 digits), as an answer of another length is refused as malformed, and a consent's
/// `time_to_live` within `consents_max_time_to_live_secs`.
pub fn served(config: &crate::config::Config) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::schema::Schema;
    let mut doc = document();
    doc.servers = Some(vec![utoipa::openapi::Server::new(
        config.provider.trim_end_matches('/'),
    )]);
    let answers = [
        ("ChallengeAnswerJson", "answer", config.otp_code_length),
        ("ConsentAnswerJson", "answer", config.otp_code_length),
        (
            "ContactVerificationAnswerJson",
            "answer",
            config.otp_code_length,
        ),
        ("TotpCodeJson", "code", TOTP_DIGITS),
    ];
    let schemas = &mut doc.components.get_or_insert_with(Default::default).schemas;
    // The consent body is its fields together with its scope rule (`EntitlementBodies`).
    let consent = match schemas.get_mut("CreateConsentJson") {
        Some(RefOr::T(Schema::AllOf(all))) => all.items.iter_mut().find_map(|item| match item {
            RefOr::T(Schema::Object(fields)) => Some(fields),
            _ => None,
        }),
        Some(RefOr::T(Schema::Object(fields))) => Some(fields),
        _ => None,
    };
    if let Some(consent) = consent
        && let Some(RefOr::T(Schema::Object(ttl))) = consent.properties.get_mut("time_to_live")
    {
        let max = i64::try_from(config.consents_max_time_to_live_secs).unwrap_or(i64::MAX);
        ttl.minimum = Some(1.into());
        ttl.maximum = Some(max.into());
    }
    for (schema, field, digits) in answers {
        if let Some(RefOr::T(Schema::Object(object))) = schemas.get_mut(schema)
            && let Some(RefOr::T(Schema::Object(property))) = object.properties.get_mut(field)
        {
            property.pattern = Some(format!("^[0-9]{{{digits}}}$"));
        }
    }
    doc
}

/// The digits of the codes of an authenticator app enrolled here
/// (`assent_otp::totp::TotpSecret::generate`'s usual parameters).
const TOTP_DIGITS: usize = 6;
