fn main() {
    // Tests declared with `assent_repository::backend_test!` run on PostgreSQL only when a
    // database is named (the macro reads this cfg where it expands, in this package's tests).
    println!("cargo::rustc-check-cfg=cfg(assent_postgres_tests)");
    println!("cargo:rerun-if-env-changed=ASSENT_TEST_POSTGRES_URL");
    if std::env::var_os("ASSENT_TEST_POSTGRES_URL").is_some_and(|url| !url.is_empty()) {
        println!("cargo:rustc-cfg=assent_postgres_tests");
    }
    // Likewise the tests of call limits shared through Redis run when a Redis is named.
    println!("cargo::rustc-check-cfg=cfg(assent_redis_tests)");
    println!("cargo:rerun-if-env-changed=ASSENT_TEST_REDIS_URL");
    if std::env::var_os("ASSENT_TEST_REDIS_URL").is_some_and(|url| !url.is_empty()) {
        println!("cargo:rustc-cfg=assent_redis_tests");
    }
    // The contract tests run the pinned Python tools (scripts/contract/requirements.txt) with
    // the python this names, and the API explorer's test drives Chromium through this driver.
    for (cfg, variable) in [
        ("assent_contract_tests", "ASSENT_TEST_PYTHON"),
        ("assent_browser_tests", "ASSENT_TEST_CHROMEDRIVER"),
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        println!("cargo:rerun-if-env-changed={variable}");
        if std::env::var_os(variable).is_some_and(|value| !value.is_empty()) {
            println!("cargo:rustc-cfg={cfg}");
        }
    }
    // The commit the server is built from, for Get API Info (`git_commit`); left out when the
    // source is not a git checkout or git is not installed.
    if let Some(commit) = git(&["rev-parse", "--verify", "HEAD"])
        && commit.len() == 40
        && commit.bytes().all(|b| b.is_ascii_hexdigit())
    {
        println!("cargo:rustc-env=ASSENTD_GIT_COMMIT={commit}");
        // Built again when HEAD moves: HEAD itself, the branch it names, and packed refs.
        let mut watched = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watched.push(branch);
        }
        for name in watched {
            if let Some(path) = git(&["rev-parse", "--git-path", &name])
                && std::path::Path::new(&path).exists()
            {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
}

/// What `git ARGS` prints in this package's folder, trimmed; `None` when it fails.
fn git(args: &[&str]) -> Option<String> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let output = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}
