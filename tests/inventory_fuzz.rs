//! No input makes an inventory reader or `--limit` panic: random bytes, random
//! inventory-like text, truncated and mutated samples each end in Ok or Err.
//! Deterministic (fixed seeds), so a failure reproduces; print the input to debug.

use std::path::Path;

use fleetscan::inventory::{Format, fuzzing};

const FORMATS: [Format; 4] = [Format::Plain, Format::Csv, Format::Ini, Format::Yaml];

/// Characters that mean something to at least one of the formats.
const ALPHABET: &[u8] = b"abcxyz019 :,;#=[]{}-_.!&*?@'\"\\\n\r\t|>$~%";

fn samples() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("inventories");
    ["plain.txt", "hosts.csv", "prod.ini", "prod.yml"]
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}")))
        .collect()
}

fn parse_everywhere(bytes: &[u8]) {
    for format in FORMATS {
        let _ = fuzzing::parse_bytes(format, bytes);
    }
    let _ = fuzzing::sniff_and_parse(bytes);
}

#[test]
fn random_bytes_never_panic_any_reader() {
    let mut rng = fastrand::Rng::with_seed(0x5EED_0001);
    for _ in 0..2000 {
        let len = rng.usize(0..300);
        let bytes: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
        parse_everywhere(&bytes);
    }
}

#[test]
fn random_inventory_like_text_never_panics_any_reader() {
    let mut rng = fastrand::Rng::with_seed(0x5EED_0002);
    for _ in 0..6000 {
        let len = rng.usize(0..200);
        let bytes: Vec<u8> = (0..len)
            .map(|_| ALPHABET[rng.usize(..ALPHABET.len())])
            .collect();
        parse_everywhere(&bytes);
    }
}

#[test]
fn truncated_samples_never_panic_any_reader() {
    for sample in samples() {
        for cut in 0..=sample.len() {
            parse_everywhere(&sample[..cut]);
        }
    }
}

#[test]
fn mutated_samples_never_panic_any_reader() {
    let mut rng = fastrand::Rng::with_seed(0x5EED_0003);
    let samples = samples();
    for i in 0..3000 {
        let mut bytes = samples[i % samples.len()].clone();
        for _ in 0..rng.usize(1..6) {
            if bytes.is_empty() {
                break;
            }
            let at = rng.usize(..bytes.len());
            match rng.u8(0..3) {
                0 => bytes[at] = ALPHABET[rng.usize(..ALPHABET.len())],
                1 => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, ALPHABET[rng.usize(..ALPHABET.len())]),
            }
        }
        parse_everywhere(&bytes);
    }
}

#[test]
fn random_limit_patterns_never_panic() {
    let inventory = "jump01\n[web]\nweb[01:05]\n[db]\ndb-[a:c]\n[prod:children]\nweb\ndb\n";
    assert_eq!(fuzzing::select(inventory, "all").ok(), Some(9));
    let pieces = [
        "web",
        "db",
        "prod",
        "*",
        "?",
        "[",
        "]",
        "0",
        "1",
        "-1",
        ":",
        ",",
        "&",
        "!",
        "all",
        "ungrouped",
        " ",
        "a",
        "[0:2]",
        "[-",
    ];
    let mut rng = fastrand::Rng::with_seed(0x5EED_0004);
    for _ in 0..3000 {
        let pattern: String = (0..rng.usize(0..8))
            .map(|_| pieces[rng.usize(..pieces.len())])
            .collect();
        let _ = fuzzing::select(inventory, &pattern);
    }
}

#[test]
fn utf16_odd_length_and_bad_surrogates_are_errors_not_panics() {
    assert!(fuzzing::parse_bytes(Format::Plain, &[0xFF, 0xFE, b'a']).is_err());
    assert!(fuzzing::parse_bytes(Format::Plain, &[0xFF, 0xFE, 0x00, 0xD8]).is_err());
    assert!(fuzzing::parse_bytes(Format::Ini, &[0xFE, 0xFF, 0xDC, 0x00]).is_err());
}
