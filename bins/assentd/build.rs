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
}
