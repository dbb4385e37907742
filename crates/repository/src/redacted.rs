//! `Debug` for rows that hold a secret's derivative (a password hash, a keyed hash of a key or
//! a code, a sealed secret): none of them belongs in a log line or a panic message, where a
//! derived `Debug` would put it.

/// Implements `Debug` for a row struct, printing every field but the secret ones as
/// `[redacted]`. The struct is destructured without `..`, so a field added later fails to
/// compile until it is listed here as plain or secret.
macro_rules! debug_redacting {
    ($row:ident { $($field:ident),* $(,)? } secret { $($secret:ident),* $(,)? }) => {
        impl std::fmt::Debug for $row {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let $row { $($field,)* $($secret: _,)* } = self;
                f.debug_struct(stringify!($row))
                    $(.field(stringify!($field), $field))*
                    $(.field(stringify!($secret), &format_args!("[redacted]")))*
                    .finish()
            }
        }
    };
}
pub(crate) use debug_redacting;

#[cfg(test)]
mod tests {
    struct Sample {
        name: String,
        hash: String,
    }
    debug_redacting!(Sample { name } secret { hash });

    #[test]
    fn secret_fields_print_redacted_and_the_rest_as_usual() {
        let sample = Sample {
            name: "felix".into(),
            hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        };
        let printed = format!("{sample:?}");
        assert_eq!(printed, r#"Sample { name: "felix", hash: [redacted] }"#);
        assert!(!printed.contains(&sample.hash));
    }
}
