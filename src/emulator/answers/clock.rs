//! Date and time as the host prints them: `DateTime.ToString('o')` in UTC, the
//! invariant culture's `MM/dd/yyyy HH:mm:ss`, and the host's local time zone
//! (W. Europe Standard Time, with the EU daylight-saving rule).

use time::{Date, Month, OffsetDateTime, Time, UtcOffset};

/// Windows time-zone id of every modelled host.
pub(crate) const TZ_ID: &str = "W. Europe Standard Time";
/// Its display name.
pub(crate) const TZ_DISPLAY: &str = "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna";
/// Its display name on a German installation.
pub(crate) const TZ_DISPLAY_DE: &str = "(UTC+01:00) Amsterdam, Berlin, Bern, Rom, Stockholm, Wien";
/// Its base offset from UTC in minutes.
pub(crate) const TZ_BASE_MIN: i32 = 60;

/// `[datetime]::UtcNow.ToString('o')`: `2026-11-24T20:45:12.1234567Z`.
///
/// Digits written by hand rather than through `format!`: every event a host
/// answers with carries one of these, and the emulator's CPU is the scanner's
/// wall time when both share the machine (`format!` cost ~3,300 instructions a
/// call, most of a host's event output).
pub(crate) fn iso_utc(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let mut out = String::with_capacity(28);
    // Years outside 0..=9999 cannot come from a Windows clock; they print as
    // their last four digits, as the fields below are all in range by type.
    push_digits(&mut out, t.year().rem_euclid(10_000).unsigned_abs(), 4);
    out.push('-');
    push_digits(&mut out, u32::from(u8::from(t.month())), 2);
    out.push('-');
    push_digits(&mut out, u32::from(t.day()), 2);
    out.push('T');
    push_digits(&mut out, u32::from(t.hour()), 2);
    out.push(':');
    push_digits(&mut out, u32::from(t.minute()), 2);
    out.push(':');
    push_digits(&mut out, u32::from(t.second()), 2);
    out.push('.');
    push_digits(&mut out, t.nanosecond() / 100, 7);
    out.push('Z');
    out
}

/// Appends the last `width` decimal digits of `n`, zero-padded.
fn push_digits(out: &mut String, n: u32, width: u32) {
    let mut div = 10u32.pow(width - 1);
    while div > 0 {
        // A single decimal digit, so the cast and the char are exact.
        out.push(char::from(b'0' + (n / div % 10) as u8));
        div /= 10;
    }
}

/// Last Sunday of `month` in `year`.
fn last_sunday(year: i32, month: Month) -> Option<Date> {
    let days = month.length(year);
    let last = Date::from_calendar_date(year, month, days).ok()?;
    let back = last.weekday().number_days_from_sunday();
    last.checked_sub(time::Duration::days(i64::from(back)))
}

/// Whether European summer time applies at `t` (01:00 UTC on the last Sunday of
/// March to 01:00 UTC on the last Sunday of October).
pub(crate) fn is_dst(t: OffsetDateTime) -> bool {
    let t = t.to_offset(UtcOffset::UTC);
    let one = Time::from_hms(1, 0, 0).unwrap_or(Time::MIDNIGHT);
    match (
        last_sunday(t.year(), Month::March),
        last_sunday(t.year(), Month::October),
    ) {
        (Some(start), Some(end)) => {
            let start = start.with_time(one).assume_utc();
            let end = end.with_time(one).assume_utc();
            t >= start && t < end
        }
        _ => false,
    }
}

/// The host's UTC offset at `t`, in minutes.
pub(crate) fn offset_min(t: OffsetDateTime) -> i32 {
    if is_dst(t) {
        TZ_BASE_MIN + 60
    } else {
        TZ_BASE_MIN
    }
}

/// `t` in the host's local time.
pub(crate) fn local(t: OffsetDateTime) -> OffsetDateTime {
    let off = UtcOffset::from_whole_seconds(offset_min(t) * 60).unwrap_or(UtcOffset::UTC);
    t.to_offset(off)
}

/// `[string]$date` (invariant culture): `11/23/2026 21:00:03`, local time.
pub(crate) fn invariant(t: OffsetDateTime) -> String {
    let t = local(t);
    format!(
        "{:02}/{:02}/{:04} {:02}:{:02}:{:02}",
        u8::from(t.month()),
        t.day(),
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// en-US `G` format (`11/23/2026 9:00:03 PM`), local time, as console tools print.
pub(crate) fn en_us(t: OffsetDateTime) -> String {
    let t = local(t);
    let (h12, ampm) = match t.hour() {
        0 => (12, "AM"),
        h @ 1..=11 => (h, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    };
    format!(
        "{}/{}/{} {}:{:02}:{:02} {}",
        u8::from(t.month()),
        t.day(),
        t.year(),
        h12,
        t.minute(),
        t.second(),
        ampm
    )
}

/// WSB version identifier `MM/dd/yyyy-HH:mm` (UTC).
pub(crate) fn wsb_version_id(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:02}/{:02}/{:04}-{:02}:{:02}",
        u8::from(t.month()),
        t.day(),
        t.year(),
        t.hour(),
        t.minute()
    )
}

/// WSB log file stamp `dd-MM-yyyy_HH-mm-ss` (local).
pub(crate) fn wsb_log_stamp(t: OffsetDateTime) -> String {
    let t = local(t);
    format!(
        "{:02}-{:02}-{:04}_{:02}-{:02}-{:02}",
        t.day(),
        u8::from(t.month()),
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Local midnight `days` days before the local date of `now`, as a UTC instant
/// (what `InstalledOn` of a hotfix is).
pub(crate) fn local_midnight_days_ago(now: OffsetDateTime, days: i64) -> OffsetDateTime {
    let today = local(now).date();
    let day = today
        .checked_sub(time::Duration::days(days))
        .unwrap_or(today);
    let guess = day.with_time(Time::MIDNIGHT).assume_utc();
    let off = UtcOffset::from_whole_seconds(offset_min(guess) * 60).unwrap_or(UtcOffset::UTC);
    day.with_time(Time::MIDNIGHT)
        .assume_offset(off)
        .to_offset(UtcOffset::UTC)
}

/// Drops sub-second digits below 100 ns and keeps the value deterministic enough
/// for display (`LastBootUpTime` has microsecond precision).
pub(crate) fn micros(t: OffsetDateTime) -> OffsetDateTime {
    let ns = t.nanosecond() / 1000 * 1000;
    t.replace_nanosecond(ns).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn iso_utc_has_seven_fraction_digits_and_z() {
        assert_eq!(
            iso_utc(datetime!(2026-11-24 20:45:12.1234567 UTC)),
            "2026-11-24T20:45:12.1234567Z"
        );
        assert_eq!(
            iso_utc(datetime!(2026-11-24 21:45:12 +1)),
            "2026-11-24T20:45:12.0000000Z"
        );
        assert_eq!(
            iso_utc(datetime!(0987-01-02 03:04:05.0000009 UTC)),
            "0987-01-02T03:04:05.0000009Z"
        );
        assert_eq!(
            iso_utc(datetime!(2026-12-31 23:59:59.9999999 UTC)),
            "2026-12-31T23:59:59.9999999Z"
        );
    }

    #[test]
    fn dst_follows_the_eu_rule() {
        assert!(!is_dst(datetime!(2026-03-29 00:59 UTC)));
        assert!(is_dst(datetime!(2026-03-29 01:00 UTC)));
        assert!(is_dst(datetime!(2026-10-25 00:59 UTC)));
        assert!(!is_dst(datetime!(2026-10-25 01:00 UTC)));
    }

    #[test]
    fn invariant_and_en_us_print_local_time() {
        let t = datetime!(2026-11-23 20:00:03 UTC);
        assert_eq!(invariant(t), "11/23/2026 21:00:03");
        assert_eq!(en_us(t), "11/23/2026 9:00:03 PM");
        assert_eq!(wsb_version_id(t), "11/23/2026-20:00");
    }

    #[test]
    fn hotfix_dates_are_local_midnight_in_utc() {
        let now = datetime!(2026-11-24 20:45 UTC);
        assert_eq!(
            iso_utc(local_midnight_days_ago(now, 3)),
            "2026-11-20T23:00:00.0000000Z"
        );
        let summer = datetime!(2026-07-10 12:00 UTC);
        assert_eq!(
            iso_utc(local_midnight_days_ago(summer, 0)),
            "2026-07-09T22:00:00.0000000Z"
        );
    }
}
