use super::*;
use chrono::TimeZone;
use proptest::prelude::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
}

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

fn terms(input: &str) -> Vec<Term> {
    parse_query(input)
        .unwrap_or_else(|e| panic!("{input:?}: {e}"))
        .terms
}

fn one(input: &str) -> Term {
    let mut t = terms(input);
    assert_eq!(t.len(), 1, "{input:?}: {t:?}");
    t.remove(0)
}

fn err(input: &str) -> QueryError {
    match parse_query(input) {
        Ok(q) => panic!("{input:?} parsed as {q:?}"),
        Err(e) => e,
    }
}

fn filter_err(input: &str) -> QueryError {
    match parse(input, now()) {
        Ok(f) => panic!("{input:?} gave {f:?}"),
        Err(e) => e,
    }
}

fn word(w: &str) -> Term {
    Term::Word(w.into())
}

fn phrase(p: &str) -> Term {
    Term::Phrase(p.into())
}

fn exclude(t: Term) -> Term {
    Term::Exclude(Box::new(t))
}

#[test]
fn empty_and_blank_queries_match_everything() {
    for q in ["", "   ", "\t \n"] {
        assert_eq!(parse_query(q).unwrap(), Query::default());
        assert_eq!(parse(q, now()).unwrap(), AuditFilter::default());
    }
    assert_eq!(Query::default().to_string(), "");
}

#[test]
fn the_design_example() {
    let q = "domain:platform type:escalation agent:agent-17 class:sensitive task:T-42 \
             since:2h until:2026-11-20 \"exact phrase\" word -excluded";
    assert_eq!(
        terms(q),
        vec![
            Term::Domain("platform".into()),
            Term::Type(ActionType::Escalation),
            Term::Agent("agent-17".into()),
            Term::Class(Classification::Sensitive),
            Term::Task("T-42".into()),
            Term::Since(TimeBound::Ago(Duration::hours(2))),
            Term::Until(TimeBound::At(at(2026, 11, 20, 0, 0, 0))),
            phrase("exact phrase"),
            word("word"),
            exclude(word("excluded")),
        ]
    );
    // Absolute times print in full.
    assert_eq!(
        parse_query(q).unwrap().to_string(),
        q.replace("until:2026-11-20", "until:2026-11-20T00:00:00Z")
    );
}

#[test]
fn string_fields() {
    assert_eq!(one("domain:platform"), Term::Domain("platform".into()));
    assert_eq!(one("agent:agent-17"), Term::Agent("agent-17".into()));
    assert_eq!(one("task:T-42"), Term::Task("T-42".into()));
    // Colons after the first belong to the value.
    assert_eq!(
        one("agent:operator:alice"),
        Term::Agent("operator:alice".into())
    );
    // Quoted values, with spaces, colons and escapes.
    assert_eq!(
        one("agent:\"operator:alice\""),
        Term::Agent("operator:alice".into())
    );
    assert_eq!(
        one(r#"domain:"two words \"q\" \\""#),
        Term::Domain(r#"two words "q" \"#.into())
    );
    // Outside quotes a backslash is just a character, and values may start with -.
    assert_eq!(one(r"task:a\b"), Term::Task(r"a\b".into()));
    assert_eq!(one("domain:-x"), Term::Domain("-x".into()));
}

#[test]
fn type_and_class() {
    for (text, kind) in [
        ("decision", ActionType::Decision),
        ("execution", ActionType::Execution),
        ("escalation", ActionType::Escalation),
    ] {
        assert_eq!(one(&format!("type:{text}")), Term::Type(kind));
        assert_eq!(one(&format!("type:\"{text}\"")), Term::Type(kind));
    }
    for (text, class) in [
        ("public", Classification::Public),
        ("internal", Classification::Internal),
        ("sensitive", Classification::Sensitive),
    ] {
        assert_eq!(one(&format!("class:{text}")), Term::Class(class));
    }
}

#[test]
fn times() {
    assert_eq!(
        one("since:2h"),
        Term::Since(TimeBound::Ago(Duration::hours(2)))
    );
    assert_eq!(
        one("until:7d"),
        Term::Until(TimeBound::Ago(Duration::days(7)))
    );
    assert_eq!(
        one("since:1h30m"),
        Term::Since(TimeBound::Ago(Duration::minutes(90)))
    );
    assert_eq!(
        one("until:2026-11-20"),
        Term::Until(TimeBound::At(at(2026, 11, 20, 0, 0, 0)))
    );
    assert_eq!(
        one("since:2026-11-20T10:00:00Z"),
        Term::Since(TimeBound::At(at(2026, 11, 20, 10, 0, 0)))
    );
    // Offsets are converted to UTC and print back with Z.
    let t = one("since:2026-11-20T10:00:00+02:00");
    assert_eq!(t, Term::Since(TimeBound::At(at(2026, 11, 20, 8, 0, 0))));
    assert_eq!(t.to_string(), "since:2026-11-20T08:00:00Z");
    // Durations print in their shortest spelling.
    assert_eq!(one("since:90m").to_string(), "since:1h30m");
}

#[test]
fn words_and_phrases() {
    assert_eq!(
        terms("  budget\tException  12:30 agent-17 :x a1:b ünïcode "),
        vec![
            word("budget"),
            word("Exception"),
            word("12:30"),
            word("agent-17"),
            word(":x"),
            word("a1:b"),
            word("ünïcode"),
        ]
    );
    assert_eq!(one("\"exact phrase\""), phrase("exact phrase"));
    assert_eq!(
        one(r#""say \"hi\" to C:\\dir""#),
        phrase(r#"say "hi" to C:\dir"#)
    );
    // A backslash before anything else is kept as written.
    assert_eq!(one(r#""a\nb""#), phrase(r"a\nb"));
    assert_eq!(one("\"domain:x\""), phrase("domain:x"));
    assert_eq!(terms("\"a\"\t\"b\""), vec![phrase("a"), phrase("b")]);
}

#[test]
fn exclusions() {
    assert_eq!(
        terms("budget -legacy -\"old plan\" -12:00"),
        vec![
            word("budget"),
            exclude(word("legacy")),
            exclude(phrase("old plan")),
            exclude(word("12:00")),
        ]
    );
    let f = parse("budget -legacy -\"old plan\"", now()).unwrap();
    assert_eq!(f.words, vec!["budget"]);
    assert_eq!(f.excluded, vec!["legacy", "old plan"]);
    // A dash inside a word is part of it.
    assert_eq!(one("a-b"), word("a-b"));
}

#[test]
fn to_filter_maps_every_term() {
    let f = parse(
        "domain:platform type:decision agent:operator:alice class:internal task:T-1 \
         since:2h until:2026-11-21 budget \"big spend\" -legacy -\"old plan\" exception",
        now(),
    )
    .unwrap();
    assert_eq!(
        f,
        AuditFilter {
            domain: Some("platform".into()),
            action_type: Some(ActionType::Decision),
            agent: Some("operator:alice".into()),
            classification: Some(Classification::Internal),
            task: Some("T-1".into()),
            since: Some(at(2026, 11, 20, 10, 0, 0)),
            until: Some(at(2026, 11, 21, 0, 0, 0)),
            words: vec!["budget".into(), "exception".into()],
            phrases: vec!["big spend".into()],
            excluded: vec!["legacy".into(), "old plan".into()],
        }
    );
    // Relative times on both sides.
    let f = parse("since:7d until:1d", now()).unwrap();
    assert_eq!(f.since, Some(at(2026, 11, 13, 12, 0, 0)));
    assert_eq!(f.until, Some(at(2026, 11, 19, 12, 0, 0)));
    // Query::to_filter gives the same as parse.
    let q = parse_query("since:2h word").unwrap();
    assert_eq!(
        q.to_filter(now()).unwrap(),
        parse("since:2h word", now()).unwrap()
    );
}

#[test]
fn syntax_errors_name_the_column_and_what_was_expected() {
    let cases: &[(&str, usize, &str)] = &[
        // Unknown fields, at the field name.
        (
            "budget foo:bar",
            8,
            "unknown field foo:; expected domain:, type:, agent:, class:, task:, since:, until:, a word or a \"phrase\"",
        ),
        (
            "Domain:x",
            1,
            "unknown field Domain: (fields are lowercase)",
        ),
        ("http://example.com", 1, "unknown field http:"),
        ("-foo:bar", 2, "unknown field foo:"),
        // Empty values, where the value should be.
        ("  domain:", 10, "domain: needs a value"),
        ("domain: x", 8, "domain: needs a value"),
        ("agent:\"\"", 7, "agent: needs a value"),
        ("task:\" \"", 6, "task: needs a value"),
        ("since:", 7, "since: needs a value"),
        // Bad type and class values, at the value.
        (
            "budget type:bogus",
            13,
            "type:bogus is not an action type; expected decision, execution or escalation",
        ),
        (
            "type:Decision",
            6,
            "expected decision, execution or escalation",
        ),
        (
            "class:secret",
            7,
            "class:secret is not a classification; expected public, internal or sensitive",
        ),
        // Bad times say the forms accepted.
        (
            "since:yesterday",
            7,
            "since:yesterday is not a time; expected a time before now like 2h, 7d or 1h30m, a date like 2026-11-20 or a date-time like 2026-11-20T10:00:00Z",
        ),
        (
            "until:2026-13-01",
            7,
            "until:2026-13-01 is not a time; expected",
        ),
        (
            "since:10",
            7,
            "since:10 is not a time (the last number has no unit); expected",
        ),
        ("since:-5m", 7, "is not a time; expected"),
        ("since:99999999999999w", 7, "(it is too long)"),
        // Dates are exactly YYYY-MM-DD, in the years RFC 3339 can write (found by fuzzing).
        ("until:-78-7-8", 7, "is not a time; expected"),
        ("since:-2026-11-20", 7, "is not a time; expected"),
        ("until:2026-1-5", 7, "is not a time; expected"),
        ("since:+2026-11-20", 7, "is not a time; expected"),
        (
            "since:0000-01-01T00:00:00+01:00",
            7,
            "outside the years 0000 to 9999",
        ),
        (
            "until:9999-12-31T23:00:00-02:00",
            7,
            "outside the years 0000 to 9999",
        ),
        // Quotes.
        (
            "budget \"open phrase",
            8,
            "unterminated quote; expected a closing \"",
        ),
        ("domain:\"x", 8, "unterminated quote"),
        (r#""ends in escape\""#, 1, "unterminated quote"),
        ("-\"x", 2, "unterminated quote"),
        ("\"a\"b", 4, "expected a space after the closing quote"),
        (
            "agent:\"a\"b",
            10,
            "expected a space after the closing quote",
        ),
        (
            "ab\"c\"",
            3,
            "unexpected \" inside a word; expected a space before a \"phrase\"",
        ),
        ("domain:a\"b", 9, "unexpected \" inside a word"),
        (
            "\"\"",
            1,
            "empty phrase; expected some text between the quotes",
        ),
        ("x -\"  \"", 4, "empty phrase"),
        // Exclusions.
        (
            "budget -",
            8,
            "a lone - excludes nothing; expected a word or a \"phrase\"",
        ),
        ("- budget", 1, "a lone - excludes nothing"),
        ("--force", 2, "expected a word or a \"phrase\" after -"),
        (
            "x -domain:platform",
            3,
            "-domain: cannot be excluded: exclusion only applies to words and phrases",
        ),
        (
            "-since:2h",
            1,
            "exclusion only applies to words and phrases",
        ),
    ];
    for &(input, column, message) in cases {
        let e = err(input);
        assert_eq!(e.column, column, "{input:?}: {e}");
        assert!(
            e.message.contains(message),
            "{input:?}: {:?} should contain {message:?}",
            e.message
        );
        assert_eq!(e.to_string(), format!("column {column}: {}", e.message));
        // parse reports the same error.
        assert_eq!(parse(input, now()).unwrap_err(), e);
    }
}

#[test]
fn columns_count_characters_not_bytes() {
    let e = err("ünï café foo:x");
    assert_eq!(e.column, 10);
    let e = err("\"日本語\" type:x");
    assert_eq!(e.column, 12);
}

#[test]
fn filter_errors_name_the_column() {
    for field in [
        "domain:a",
        "type:decision",
        "agent:a",
        "class:public",
        "task:a",
    ] {
        let name = field.split(':').next().unwrap();
        let e = filter_err(&format!("{field} word {field}"));
        assert_eq!(e.column, field.len() + 7, "{field}: {e}");
        assert!(
            e.message
                .starts_with(&format!("{name}: given twice; terms AND together")),
            "{e}"
        );
    }
    let e = filter_err("since:2h  until:1h since:3h");
    assert_eq!(
        (e.column, e.message.starts_with("since: given twice")),
        (20, true),
        "{e}"
    );
    let e = filter_err("until:1d until:2d");
    assert_eq!(e.column, 10);
    // Given twice is reported before the second value is worked out.
    let e = filter_err("since:2h since:15000000000w");
    assert!(e.message.starts_with("since: given twice"), "{e}");

    // since must be before until, reported at whichever came second.
    let e = filter_err("since:1h word until:2h");
    assert_eq!(e.column, 15, "{e}");
    assert!(
        e.message
            .contains("since: (2026-11-20T11:00:00Z) must be before until: (2026-11-20T10:00:00Z)"),
        "{e}"
    );
    let e = filter_err("until:2026-11-20 since:2026-11-20");
    assert_eq!(e.column, 18, "{e}");

    // A relative time too far back for the calendar.
    let e = filter_err("x since:15000000000w");
    assert_eq!(e.column, 3);
    assert!(e.message.contains("too far back"), "{e}");

    // Query::to_filter counts columns in the canonical text.
    let q = parse_query("  domain:a    domain:b").unwrap();
    assert_eq!(q.to_filter(now()).unwrap_err().column, 10);
    // A hand-built exclusion of a field is refused rather than ignored.
    let q = Query {
        terms: vec![word("x"), exclude(Term::Domain("d".into()))],
    };
    let e = q.to_filter(now()).unwrap_err();
    assert_eq!(e.column, 3);
    assert!(e.message.contains("exclusion only applies"), "{e}");
}

#[test]
fn canonical_printing() {
    let q = parse_query(
        "  agent:\"operator alice\"  domain:\"a\\\"b\"  task:x\\y \"p \\\\ q\"  -\"r s\" since:2026-11-20",
    )
    .unwrap();
    assert_eq!(
        q.to_string(),
        r#"agent:"operator alice" domain:"a\"b" task:x\y "p \\ q" -"r s" since:2026-11-20T00:00:00Z"#
    );
    assert_eq!(parse_query(&q.to_string()).unwrap(), q);
    // Sub-second instants keep their fraction (seconds precision otherwise).
    let t = one("until:2026-11-20T10:00:00.250Z");
    assert_eq!(t.to_string(), "until:2026-11-20T10:00:00.250Z");
    assert_eq!(one(&t.to_string()), t);
}

// -----------------------------------------------------------------------------------------
// Property tests

/// Whether `w` parses back as exactly the word `w`.
fn is_word(w: &str) -> bool {
    parse_query(w).is_ok_and(|q| q.terms == [Term::Word(w.to_string())])
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 :\"\\\\\\-\t]{1,12}",
        ".{1,12}",
        "[a-z]{1,8}(:[a-z0-9]{1,8})?",
    ]
    .prop_filter("needs some text", |s| !s.trim().is_empty())
}

fn word_text() -> impl Strategy<Value = String> {
    prop_oneof!["[a-zA-Z0-9_.:/'\\\\-]{1,12}", "[a-z]{1,8}", "[^\\s\"]{1,8}",]
        .prop_filter("must read back as a word", |w| is_word(w))
}

fn time_bound_strategy() -> impl Strategy<Value = TimeBound> {
    prop_oneof![
        (0i64..100_000_000_000).prop_map(|s| TimeBound::Ago(Duration::seconds(s))),
        // 0000-01-01 to 9999-12-31, whole seconds.
        (-62_167_219_200i64..253_402_300_800)
            .prop_map(|s| TimeBound::At(DateTime::from_timestamp(s, 0).unwrap())),
    ]
}

fn term_strategy() -> impl Strategy<Value = Term> {
    prop_oneof![
        text().prop_map(Term::Domain),
        prop_oneof![
            Just(ActionType::Decision),
            Just(ActionType::Execution),
            Just(ActionType::Escalation),
        ]
        .prop_map(Term::Type),
        text().prop_map(Term::Agent),
        prop_oneof![
            Just(Classification::Public),
            Just(Classification::Internal),
            Just(Classification::Sensitive),
        ]
        .prop_map(Term::Class),
        text().prop_map(Term::Task),
        time_bound_strategy().prop_map(Term::Since),
        time_bound_strategy().prop_map(Term::Until),
        word_text().prop_map(Term::Word),
        text().prop_map(Term::Phrase),
        word_text().prop_map(|w| Term::Exclude(Box::new(Term::Word(w)))),
        text().prop_map(|p| Term::Exclude(Box::new(Term::Phrase(p)))),
    ]
}

/// Strings built from the language's own pieces, to reach deep into the parser.
fn query_like() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("domain:".to_string()),
            Just("type:".to_string()),
            Just("class:".to_string()),
            Just("since:".to_string()),
            Just("until:".to_string()),
            Just("agent:".to_string()),
            Just("-".to_string()),
            Just("\"".to_string()),
            Just("\\".to_string()),
            Just(" ".to_string()),
            Just(":".to_string()),
            Just("2h".to_string()),
            Just("2026-11-20".to_string()),
            Just("decision".to_string()),
            "[a-z]{1,4}",
            ".{1,3}",
        ],
        0..16,
    )
    .prop_map(|parts| parts.concat())
}

fn check_round_trip(input: &str) {
    if let Ok(q) = parse_query(input) {
        let printed = q.to_string();
        assert_eq!(
            parse_query(&printed),
            Ok(q.clone()),
            "{input:?} → {printed:?}"
        );
        let _ = q.to_filter(now());
    }
    let _ = parse(input, now());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn printing_and_parsing_gives_the_same_ast(
        terms in prop::collection::vec(term_strategy(), 0..8)
    ) {
        let q = Query { terms };
        let printed = q.to_string();
        prop_assert_eq!(parse_query(&printed), Ok(q), "printed as {:?}", printed);
    }

    #[test]
    fn arbitrary_strings_never_panic(input in any::<String>()) {
        check_round_trip(&input);
    }

    #[test]
    fn query_like_strings_never_panic_and_round_trip(input in query_like()) {
        check_round_trip(&input);
    }

    #[test]
    fn errors_point_inside_the_input(input in query_like()) {
        if let Err(e) = parse_query(&input) {
            prop_assert!(e.column >= 1 && e.column <= input.chars().count() + 1, "{}", e);
        }
    }
}
