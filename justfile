# The usual tasks. CI runs .ci/run, which runs the same commands.

pg_url := env_var_or_default("ASSENT_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")

# Run the server on SQLite (./data/assent.db)
run:
    cargo run -p assentd

# Every test, on SQLite
test:
    cargo test --workspace

# Every test, on SQLite and PostgreSQL
test-pg:
    ASSENT_TEST_POSTGRES_URL={{pg_url}} cargo test --workspace

# Format check, clippy and the API docs with warnings denied
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

# In-process benchmarks (criterion) and the HTTP load script
bench:
    cargo bench -p assentd
    scripts/load.sh

# Print the OpenAPI document
openapi:
    cargo run -q -p assentd -- openapi

# Fuzz one target for `seconds` (cargo install cargo-fuzz; see "Fuzzing" in docs/security.md).
# New inputs go to fuzz/scratch/TARGET (ignored); the committed seeds in fuzz/corpus stay small.
fuzz target seconds="600":
    mkdir -p fuzz/scratch/{{target}}
    RUSTC_BOOTSTRAP=1 cargo fuzz run {{target}} fuzz/scratch/{{target}} fuzz/corpus/{{target}} -- -max_total_time={{seconds}}
