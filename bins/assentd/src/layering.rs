//! The layering rules, checked on the sources: handlers (`api`) reach storage only through
//! use cases (`services`), and use cases know nothing of HTTP.

use std::path::{Path, PathBuf};

fn sources(under: &str) -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, found: &mut Vec<(PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                found.push((path, text));
            }
        }
    }
    let mut found = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src")
            .join(under),
        &mut found,
    );
    assert!(!found.is_empty(), "no sources under src/{under}");
    found
}

fn offences(under: &str, forbidden: &[&str]) -> Vec<String> {
    let mut offences = Vec::new();
    for (path, text) in sources(under) {
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for pattern in forbidden {
                if code.contains(pattern) {
                    offences.push(format!(
                        "{}:{}: {}",
                        path.display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    offences
}

#[test]
fn api_holds_no_storage_or_rules() {
    let found = offences(
        "api",
        &[
            "transaction(",
            "commit_even_if_refused",
            "rollback_if_refused",
            "read_snapshot",
            "services::record",
            "audit::",
            "legacy_parts",
            "pool.get(",
            "DbConnection",
        ],
    );
    assert!(
        found.is_empty(),
        "handlers reaching storage:\n{}",
        found.join("\n")
    );
}

#[test]
fn services_know_nothing_of_http() {
    let found = offences(
        "services",
        &["crate::api", "actix_web::Http", "HttpResponse"],
    );
    assert!(
        found.is_empty(),
        "use cases depending on the HTTP layer:\n{}",
        found.join("\n")
    );
}
