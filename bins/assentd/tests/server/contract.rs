//! The published contract, checked by the tools an integrator uses on it: the pinned Python
//! packages of `scripts/contract/requirements.txt`, run with the python `ASSENT_TEST_PYTHON`
//! names (`.ci/run` makes that environment; without it these tests are skipped).

use crate::common::process::{Workdir, assentd};
use std::process::Command;

/// The python of the contract tools' environment.
pub fn python() -> Command {
    Command::new(std::env::var("ASSENT_TEST_PYTHON").expect("ASSENT_TEST_PYTHON names a python"))
}

/// `assentd openapi` written to a file in `dir`; its path.
pub fn document_file(dir: &Workdir) -> std::path::PathBuf {
    let output = assentd(&dir.0).arg("openapi").output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let path = dir.0.join("openapi.json");
    std::fs::write(&path, &output.stdout).unwrap();
    path
}

#[test]
#[cfg_attr(
    not(assent_contract_tests),
    ignore = "set ASSENT_TEST_PYTHON to a python with scripts/contract/requirements.txt"
)]
fn openapi_spec_validator_accepts_the_document() {
    let dir = Workdir::new();
    let document = document_file(&dir);
    let output = python()
        .args(["-m", "openapi_spec_validator"])
        .arg(&document)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "openapi-spec-validator refused the document:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
