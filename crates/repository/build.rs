fn main() {
    // New migration folders must rebuild the crate that embeds them.
    println!("cargo:rerun-if-changed=../../migrations");
    postgres_tests_cfg();
}

/// Tests declared with `backend_test!` run on PostgreSQL only when a database is named.
fn postgres_tests_cfg() {
    println!("cargo::rustc-check-cfg=cfg(assent_postgres_tests)");
    println!("cargo:rerun-if-env-changed=ASSENT_TEST_POSTGRES_URL");
    if std::env::var_os("ASSENT_TEST_POSTGRES_URL").is_some_and(|url| !url.is_empty()) {
        println!("cargo:rustc-cfg=assent_postgres_tests");
    }
}
