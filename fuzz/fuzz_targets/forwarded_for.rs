#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| assentd::fuzzing::forwarded_for(data));
