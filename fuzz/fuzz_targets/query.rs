//! The audit query parser on arbitrary text: it never panics, and whatever it accepts prints
//! back to text that parses to the same syntax tree.
//!
//! `cargo +nightly fuzz run query` from the package root.

#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use opsdeck::query::{parse, parse_query};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let now = DateTime::<Utc>::from_timestamp(1_795_000_000, 0).expect("a valid instant");
    match parse_query(input) {
        Ok(query) => {
            let printed = query.to_string();
            assert_eq!(
                parse_query(&printed),
                Ok(query.clone()),
                "{input:?} printed as {printed:?}"
            );
            let _ = query.to_filter(now);
        }
        Err(e) => assert!(
            e.column >= 1 && e.column <= input.chars().count() + 1,
            "{input:?}: column out of range: {e}"
        ),
    }
    let _ = parse(input, now);
});
