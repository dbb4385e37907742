//! Step-up identity challenges (Apiture's `requiredIdentityChallenge`): when an operation needs
//! the customer to prove who they are again, a challenge is opened with every factor the
//! customer has (SMS, voice, email, an authenticator app, security questions). No code is sent
//! until a factor is started; one right answer on any factor verifies the challenge, and every
//! wrong answer, on any factor, counts against the same limit. The retried operation redeems
//! the verified challenge once, within five minutes.

use super::otp::{self, Destination, SendRefusal};
use super::{Context, Failure, Internal, commit_even_if_refused, record, refuse};
use crate::delivery::Channel;
use crate::state::AppState;
use assent_identity::password::PasswordCheck;
use assent_otp::challenge::{Challenge, ChallengeState, VerifyError};
use assent_otp::security_questions::{self, QuestionsError};
use assent_otp::totp::{TotpAlgorithm, TotpError, TotpSecret};
use assent_repository::users::UserDetailsRow;
use assent_repository::{
    DbConnection, RepoError, challenges, quotas, security_answers, totp, transaction,
};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Purposes of step-up challenges start with this, then the operation id.
const PREFIX: &str = "apiture:";
/// How long after its verification a challenge may be redeemed.
pub const REDEEM_WINDOW: Duration = Duration::minutes(5);
/// Security questions asked per challenge (of those the customer enrolled).
const QUESTIONS_ASKED: usize = 3;

/// Kinds of factor, as Apiture names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorType {
    Sms,
    Email,
    Voice,
    AuthenticatorToken,
    SecurityQuestions,
}

impl FactorType {
    pub fn as_str(self) -> &'static str {
        match self {
            FactorType::Sms => "sms",
            FactorType::Email => "email",
            FactorType::Voice => "voice",
            FactorType::AuthenticatorToken => "authenticatorToken",
            FactorType::SecurityQuestions => "securityQuestions",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [
            FactorType::Sms,
            FactorType::Email,
            FactorType::Voice,
            FactorType::AuthenticatorToken,
            FactorType::SecurityQuestions,
        ]
        .into_iter()
        .find(|f| f.as_str() == name)
    }

    /// The delivery channel of a factor whose code is sent.
    pub fn channel(self) -> Option<Channel> {
        match self {
            FactorType::Sms => Some(Channel::Sms),
            FactorType::Email => Some(Channel::Email),
            FactorType::Voice => Some(Channel::Voice),
            FactorType::AuthenticatorToken | FactorType::SecurityQuestions => None,
        }
    }
}

/// One factor of a challenge. Its id is its type (a customer has at most one of each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Factor {
    pub kind: FactorType,
    /// The phone number or email address; for security questions, the ids asked,
    /// comma-separated; empty for an authenticator.
    pub detail: String,
}

impl Factor {
    pub fn id(&self) -> &'static str {
        self.kind.as_str()
    }

    /// Where this factor's code goes, for factors whose code is sent.
    pub fn destination(&self) -> Option<Destination> {
        self.kind.channel().map(|channel| Destination {
            channel,
            address: self.detail.clone(),
        })
    }

    pub fn questions(&self) -> Vec<String> {
        self.detail
            .split(',')
            .filter(|q| !q.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The factor as `requiredIdentityChallenge` lists it: labels that let the customer
    /// recognise the channel without revealing it.
    pub fn json(&self) -> Value {
        let labels: Vec<String> = match self.kind {
            // The reference's label for phones is the last four digits.
            FactorType::Sms | FactorType::Voice => {
                let digits: String = self.detail.chars().filter(char::is_ascii_digit).collect();
                vec![
                    digits
                        .get(digits.len().saturating_sub(4)..)
                        .unwrap_or("")
                        .to_owned(),
                ]
            }
            FactorType::Email => vec![Channel::Email.mask(&self.detail)],
            FactorType::AuthenticatorToken => vec!["Authenticator app".to_owned()],
            FactorType::SecurityQuestions => vec!["Security questions".to_owned()],
        };
        let mut factor = json!({ "id": self.id(), "type": self.kind.as_str(), "labels": labels });
        if self.kind == FactorType::SecurityQuestions {
            let questions: Vec<Value> = self
                .questions()
                .iter()
                .filter_map(|id| {
                    security_questions::prompt(id).map(|p| json!({ "id": id, "prompt": p }))
                })
                .collect();
            factor["securityQuestions"] = json!({ "questions": questions });
        }
        factor
    }
}

/// Every factor the customer can use now (and the configured delivery can serve).
pub fn factors_for(
    state: &AppState,
    conn: &mut DbConnection,
    user: &UserDetailsRow,
) -> Result<Vec<Factor>, RepoError> {
    let mut factors = Vec::new();
    // Codes go only to contacts the customer has verified.
    if let Some(phone) = user.verified_phone() {
        for kind in [FactorType::Sms, FactorType::Voice] {
            factors.push(Factor {
                kind,
                detail: phone.to_owned(),
            });
        }
    }
    if let Some(email) = user.verified_email() {
        factors.push(Factor {
            kind: FactorType::Email,
            detail: email.to_owned(),
        });
    }
    if totp::find(conn, &user.user_id)?.is_some_and(|t| t.confirmed_at.is_some()) {
        factors.push(Factor {
            kind: FactorType::AuthenticatorToken,
            detail: String::new(),
        });
    }
    // A factor whose code cannot be delivered is not offered.
    factors.retain(|f| f.kind.channel().is_none_or(|c| state.delivery.serves(c)));
    let enrolled: Vec<String> = security_answers::list(conn, &user.user_id)?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    if enrolled.len() >= security_questions::MIN_ENROLLED {
        let asked = security_questions::choose(&enrolled, QUESTIONS_ASKED, &mut rand::rng());
        factors.push(Factor {
            kind: FactorType::SecurityQuestions,
            detail: asked.join(","),
        });
    }
    Ok(factors)
}

/// Opens a challenge for `operation_id` with `factors`, for `user_id`.
pub fn open(
    state: &AppState,
    conn: &mut DbConnection,
    now: OffsetDateTime,
    operation_id: &str,
    user_id: &str,
    factors: &[Factor],
) -> Result<Challenge, RepoError> {
    let challenge = Challenge::open(
        &format!("{PREFIX}{operation_id}"),
        state.otp_policy,
        now,
        &mut rand::rng(),
    );
    let rows: Vec<(String, String)> = factors
        .iter()
        .map(|f| (f.kind.as_str().to_owned(), f.detail.clone()))
        .collect();
    transaction(conn, |conn| {
        challenges::insert(conn, &challenge, Some(user_id))?;
        challenges::insert_destinations(conn, &challenge.id(), &rows)
    })?;
    Ok(challenge)
}

/// The `attributes` of a `challengeRequired` problem.
pub fn required_challenge(challenge: &Challenge, factors: &[Factor]) -> Value {
    json!({
        "operationId": operation_of(challenge).unwrap_or_default(),
        "challengeId": challenge.id().to_string(),
        "factors": factors.iter().map(Factor::json).collect::<Vec<_>>(),
    })
}

/// The operation a step-up challenge was opened for.
pub fn operation_of(challenge: &Challenge) -> Option<&str> {
    challenge.purpose().strip_prefix(PREFIX)
}

/// Why a factor was not started or verified.
#[derive(Debug)]
pub enum StepUpRefusal {
    /// No step-up challenge has this id.
    ChallengeNotFound,
    /// The challenge offers no factor with this id.
    FactorNotFound,
    /// The challenge can no longer be started or answered.
    NotPending(ChallengeState),
    /// The customer has used up today's wrong answers, across their challenges.
    TooManyFailures,
    /// A factor answered with a code was sent none.
    MissingCode,
    /// Security questions were sent no answers.
    MissingAnswers,
    /// The answers do not answer exactly the questions asked (not counted).
    WrongQuestions,
    /// No code was sent.
    Send(SendRefusal),
    /// The answer was not accepted.
    Answer(VerifyError),
}

/// A factor started: for a factor whose code is sent, the code issued (to deliver with
/// [`otp::deliver_or_end`], then drop) and where it goes.
#[derive(Debug)]
pub struct Started {
    pub factor: Factor,
    pub sent: Option<(otp::Issued, Vec<Destination>)>,
}

/// Starts factor `factor_id` of challenge `challenge_id`: for sms, email and voice a code is
/// issued (a new one, under the resend limit and cooldown, if one was sent before); other
/// factors need nothing sent. A refused code changes nothing.
pub fn start_factor(
    ctx: &mut Context<'_>,
    challenge_id: &Uuid,
    factor_id: &str,
) -> Result<Started, Failure<StepUpRefusal>> {
    let (challenge, _, factor) = load(ctx.conn(), challenge_id, factor_id)?;
    let Some(destination) = factor.destination() else {
        let current = challenge.state(ctx.now);
        if current != ChallengeState::Pending {
            return refuse(StepUpRefusal::NotPending(current));
        }
        return Ok(Started { factor, sent: None });
    };
    let destinations = vec![destination];
    let (state, now) = (ctx.state, ctx.now);
    let issued = otp::send_code(state, ctx.conn(), challenge_id, &destinations, now)
        .map_err(|f| f.map_refusal(StepUpRefusal::Send))?
        .ok_or(Failure::Refused(StepUpRefusal::ChallengeNotFound))?;
    Ok(Started {
        factor,
        sent: Some((issued, destinations)),
    })
}

/// What a factor is answered with.
#[derive(Debug, Default)]
pub struct FactorResponse {
    /// The one-time code (sms, email, voice, authenticatorToken).
    pub code: Option<String>,
    /// Question ids with their answers (securityQuestions).
    pub answers: Option<Vec<(String, String)>>,
}

/// Verifies factor `factor_id` of challenge `challenge_id`; returns the operation the
/// challenge was opened for. Every wrong answer, on any factor, counts against the challenge
/// and against the customer's day, and stays counted: the answer, the day's count and the
/// audit event are one transaction that commits whatever the outcome. Security answers are
/// Argon2id checks: run on the hashing pool.
pub fn verify_factor(
    ctx: &mut Context<'_>,
    challenge_id: &Uuid,
    factor_id: &str,
    response: FactorResponse,
) -> Result<String, Failure<StepUpRefusal>> {
    let (state, at) = (ctx.state, ctx.now);
    let (challenge, owner, factor) = load(ctx.conn(), challenge_id, factor_id)?;
    let code = match factor.kind {
        FactorType::SecurityQuestions => None,
        _ => Some(
            response
                .code
                .ok_or(Failure::Refused(StepUpRefusal::MissingCode))?,
        ),
    };
    let answers_right = match factor.kind {
        FactorType::SecurityQuestions => {
            let given = response
                .answers
                .ok_or(Failure::Refused(StepUpRefusal::MissingAnswers))?;
            let current = challenge.state(at);
            if current != ChallengeState::Pending {
                return refuse(StepUpRefusal::NotPending(current));
            }
            if failures_exhausted(state, ctx.conn(), &owner, at)? {
                return refuse(StepUpRefusal::TooManyFailures);
            }
            Some(check_answers(
                state,
                ctx.conn(),
                &owner,
                &factor.questions(),
                &given,
            )?)
        }
        _ => None,
    };
    commit_even_if_refused(ctx.conn(), |conn| {
        if failures_exhausted(state, conn, &owner, at)? {
            return refuse(StepUpRefusal::TooManyFailures);
        }
        let answered = match (factor.kind, &code, answers_right) {
            (FactorType::SecurityQuestions, _, Some(right)) => {
                let outcome =
                    challenges::update(conn, challenge_id, |c| c.verify_with(at, || right))?;
                if let Some(Err(VerifyError::WrongCode { attempts_left })) = &outcome {
                    otp::record_wrong_answer(conn, at, &challenge, Some(&owner), *attempts_left)?;
                }
                decided(outcome)
            }
            (FactorType::AuthenticatorToken, Some(code), _) => {
                verify_authenticator(state, conn, challenge_id, &owner, code.trim(), at)
            }
            (_, Some(code), _) => decided(
                otp::answer(state, conn, challenge_id, code.trim(), at, |_, _| true)?.map(
                    |answered| match answered {
                        otp::Answered::Verified(_) => Ok(()),
                        otp::Answered::Refused(e) => Err(e),
                    },
                ),
            ),
            _ => refuse(StepUpRefusal::ChallengeNotFound),
        };
        match &answered {
            Ok(()) => record(
                conn,
                at,
                "otp.verified",
                Some(&owner),
                json!({ "purpose": challenge.purpose(), "challenge_id": challenge_id.to_string(), "factor": factor.id() }),
            )?,
            Err(Failure::Refused(StepUpRefusal::Answer(VerifyError::WrongCode { .. }))) => {
                count_failure(state, conn, &owner, at)?;
            }
            Err(_) => {}
        }
        answered
    })?;
    Ok(operation_of(&challenge).unwrap_or_default().to_owned())
}

/// A step-up challenge with its owner, and the factor named `factor_id`.
fn load(
    conn: &mut DbConnection,
    id: &Uuid,
    factor_id: &str,
) -> Result<(Challenge, String, Factor), Failure<StepUpRefusal>> {
    let Some((challenge, Some(owner))) = challenges::find(conn, id)? else {
        return refuse(StepUpRefusal::ChallengeNotFound);
    };
    if operation_of(&challenge).is_none() {
        return refuse(StepUpRefusal::ChallengeNotFound);
    }
    let factor = challenges::destinations(conn, id)?
        .into_iter()
        .filter_map(|(kind, detail)| FactorType::parse(&kind).map(|kind| Factor { kind, detail }))
        .find(|f| f.id() == factor_id)
        .ok_or(Failure::Refused(StepUpRefusal::FactorNotFound))?;
    Ok((challenge, owner, factor))
}

/// The outcome of answering a challenge (`None`: no such challenge) as a refusal.
fn decided(outcome: Option<Result<(), VerifyError>>) -> Result<(), Failure<StepUpRefusal>> {
    match outcome {
        None => refuse(StepUpRefusal::ChallengeNotFound),
        Some(Ok(())) => Ok(()),
        Some(Err(error)) => refuse(StepUpRefusal::Answer(error)),
    }
}

/// Answers with an authenticator-app code: the code must be right for the current or
/// previous step and that step not used before (recorded at once, so it is single use), and
/// the outcome counts against the challenge like a sent code's. Refused as an unknown
/// challenge when the customer has no confirmed authenticator.
fn verify_authenticator(
    state: &AppState,
    conn: &mut DbConnection,
    challenge_id: &Uuid,
    user_id: &str,
    code: &str,
    now: OffsetDateTime,
) -> Result<(), Failure<StepUpRefusal>> {
    let Some(row) = totp::find(conn, user_id)?.filter(|r| r.confirmed_at.is_some()) else {
        return refuse(StepUpRefusal::ChallengeNotFound);
    };
    // A challenge that can no longer be answered must not use up the app's current code.
    let challenge = match challenges::find(conn, challenge_id)? {
        None => return refuse(StepUpRefusal::ChallengeNotFound),
        Some((challenge, _)) if challenge.state(now) != ChallengeState::Pending => {
            return refuse(StepUpRefusal::Answer(VerifyError::NotPending(
                challenge.state(now),
            )));
        }
        Some((challenge, _)) => challenge,
    };
    let Ok(bytes) = state.totp_sealer.open(&row.secret_sealed, user_id) else {
        return Err(Failure::Internal(Internal::Invariant(
            "an authenticator's sealed secret does not open".into(),
        )));
    };
    let algorithm = TotpAlgorithm::parse(&row.algorithm).unwrap_or(TotpAlgorithm::Sha1);
    let digits = u32::try_from(row.digits).unwrap_or(6);
    let secret =
        TotpSecret::from_bytes(bytes, algorithm, digits).map_err(|e| RepoError::CorruptRow {
            table: "totp_authenticators",
            reason: e.to_string(),
        })?;
    let last = row.last_used_step.and_then(|s| u64::try_from(s).ok());
    let right = match secret.verify(code, now, last) {
        Err(TotpError::Malformed) => return refuse(StepUpRefusal::Answer(VerifyError::Malformed)),
        Err(TotpError::Wrong | TotpError::Replayed) => false,
        Ok(step) => {
            let step = i64::try_from(step).unwrap_or(i64::MAX);
            totp::use_step(conn, user_id, step)?
        }
    };
    let outcome = challenges::update(conn, challenge_id, |c| c.verify_with(now, || right))?;
    if let Some(Err(VerifyError::WrongCode { attempts_left })) = &outcome {
        otp::record_wrong_answer(conn, now, &challenge, Some(user_id), *attempts_left)?;
    }
    decided(outcome)
}

/// Whether `given` answers exactly the questions `asked`, every one right (Argon2id checks).
/// Answers that do not match the questions asked cannot be right and are refused uncounted.
fn check_answers(
    state: &AppState,
    conn: &mut DbConnection,
    user_id: &str,
    asked: &[String],
    given: &[(String, String)],
) -> Result<bool, Failure<StepUpRefusal>> {
    let stored = security_answers::list(conn, user_id)?;
    security_questions::check(asked, given, |id, normalised| {
        stored.iter().any(|(qid, hash)| {
            qid == id
                && matches!(
                    state.password_hasher.verify(
                        &assent_identity::secret::SecretString::new(normalised.to_owned()),
                        hash,
                    ),
                    PasswordCheck::Match { .. }
                )
        })
    })
    .map_err(|_: QuestionsError| Failure::Refused(StepUpRefusal::WrongQuestions))
}

const FAILURE_SCOPE: &str = "step-up-failures";

/// The start of the UTC day holding `now`: failures are counted per day.
fn day(now: OffsetDateTime) -> OffsetDateTime {
    now.replace_time(time::Time::MIDNIGHT)
}

/// Whether the customer has used up today's wrong answers across all their challenges
/// (`otp_step_up_failures_per_user_per_day`): each challenge allows a few attempts, and this
/// keeps opening new challenges from multiplying them.
fn failures_exhausted(
    state: &AppState,
    conn: &mut DbConnection,
    user_id: &str,
    now: OffsetDateTime,
) -> Result<bool, RepoError> {
    let used = quotas::used(conn, FAILURE_SCOPE, user_id, day(now))?;
    Ok(used >= state.config.otp_step_up_failures_per_user_per_day)
}

/// Counts one wrong answer of the customer's towards today's allowance.
fn count_failure(
    state: &AppState,
    conn: &mut DbConnection,
    user_id: &str,
    now: OffsetDateTime,
) -> Result<(), RepoError> {
    quotas::consume(
        conn,
        FAILURE_SCOPE,
        user_id,
        day(now),
        state.config.otp_step_up_failures_per_user_per_day,
    )?;
    Ok(())
}

/// Redeems the verified challenge named by the retried request for `operation_id` by
/// `user_id`: once, within [`REDEEM_WINDOW`] of its verification.
pub fn redeem(
    conn: &mut DbConnection,
    challenge_id: &Uuid,
    operation_id: &str,
    user_id: &str,
    now: OffsetDateTime,
) -> Result<(), Failure<super::otp::Unredeemable>> {
    super::otp::redeem(
        conn,
        challenge_id,
        &format!("{PREFIX}{operation_id}"),
        user_id,
        now,
        REDEEM_WINDOW,
    )
}
