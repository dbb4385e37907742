//! The command line: `serve` (default), `migrate`, `openapi`, `admin ...`. Every command reads
//! the same configuration.

use crate::config::Config;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "assentd",
    version,
    about = "Assent: security core for banking APIs"
)]
pub struct Cli {
    /// A TOML configuration file (environment variables ASSENT_* override it).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Administrative tasks; each prints JSON on stdout.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Register a user (same rules as POST /users); prints the user JSON.
    CreateUser {
        #[arg(long)]
        username: String,
        /// The password (visible to other local users in the process list: prefer
        /// --password-stdin).
        #[arg(long, required_unless_present = "password_stdin")]
        password: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long, conflicts_with = "password")]
        password_stdin: bool,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Admin")]
        first_name: String,
        #[arg(long, default_value = "User")]
        last_name: String,
        /// Mobile number for one-time codes, E.164 (+447700900123).
        #[arg(long)]
        phone_number: Option<String>,
        /// The email address comes from the bank's own records: one-time codes may go there
        /// without the user proving it first.
        #[arg(long)]
        email_verified: bool,
        /// The phone number comes from the bank's own records (as --email-verified).
        #[arg(long, requires = "phone_number")]
        phone_verified: bool,
    },
    /// Grant a role to a user; prints the entitlement JSON.
    GrantRole {
        #[arg(long)]
        username: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        bank_id: Option<String>,
    },
    /// Unlock a user, as `PUT /users/{username}/lock-status` does: clears the failed-login count
    /// and any administrative lock; prints the lock status JSON. For when no one who holds
    /// `CanUnlockUser` can sign in.
    UnlockUser {
        #[arg(long)]
        username: String,
        /// The user's provider, when several providers have the username.
        #[arg(long)]
        provider: Option<String>,
    },
    /// Register an API consumer; prints {"consumer_id", "key"}. The key is shown only once.
    CreateConsumer {
        #[arg(long)]
        name: String,
    },
    /// Create an API key for a trusted system caller (Apiture `/system/...` endpoints);
    /// prints {"key_id", "key"}. The key is shown only once and stored hashed.
    CreateSystemKey {
        #[arg(long)]
        name: String,
    },
    /// List the system keys; prints [{"key_id", "name", "created_at"}] (never the keys).
    ListSystemKeys,
    /// Revoke a system key: it stops working on the next request; prints {"key_id", "revoked"}.
    RevokeSystemKey {
        #[arg(long)]
        key_id: String,
    },
    /// Write the whole audit trail to standard output, oldest first, one JSON object a line
    /// (as `GET /management/audit-events` shows an event).
    ExportAudit,
    /// Check the audit trail's hash chain: prints {"intact": true, "events", "head_hash"} and
    /// exits 0, or {"intact": false, "first_bad_event", "problem"} and exits non-zero when a
    /// row was edited, deleted, inserted or reordered.
    VerifyAudit,
    /// Add a new token-signing key to the ring every replica reads; prints {"kid",
    /// "signs_from"}. It is published at once and signs from `signing_key_refresh_secs` +
    /// `jwks_max_age_secs` later; earlier keys keep verifying their tokens until those expire.
    RotateSigningKey {
        /// Sign with the new key at once (when the current key must stop signing now).
        #[arg(long)]
        immediately: bool,
    },
    /// Run one round of housekeeping now, as every server does every
    /// `housekeeping_interval_secs`; prints {"rows": {"sessions", "challenges",
    /// "quota_windows", "consents_expired"}, "signing_keys": {"wiped", "deleted"}}, with "rows"
    /// null when another process was sweeping them at that moment.
    Housekeeping,
}

/// Parses the command line and runs the command.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_process(cli.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("assentd: {error}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(&config);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => crate::server::serve(config),
        Command::Migrate => crate::admin::migrate(config),
        Command::Openapi => crate::admin::print_openapi(&config),
        Command::Admin(admin) => crate::admin::run(config, admin),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("assentd: {error}");
            ExitCode::FAILURE
        }
    }
}
