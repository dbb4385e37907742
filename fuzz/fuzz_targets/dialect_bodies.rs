#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| assentd::fuzzing::dialect_bodies(data));
