//! Amounts and dates as documents write them: `123,450.00`, the Chinese capital amount
//! (大写金额) `壹拾贰万叁仟肆佰伍拾元整`, English words, `2026年12月15日` and
//! `15 December 2026`.

const DIGITS: [char; 10] = ['零', '壹', '贰', '叁', '肆', '伍', '陆', '柒', '捌', '玖'];
const SMALL_UNITS: [&str; 4] = ["", "拾", "佰", "仟"];
const BIG_UNITS: [&str; 3] = ["亿", "万", ""];

/// An amount in cents written with thousands separators and two decimals: `123,450.00`.
pub fn format_amount(cents: u64) -> String {
    let yuan = cents / 100;
    let frac = cents % 100;
    let digits = yuan.to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{grouped}.{frac:02}")
}

/// The capital amount (大写) of an amount in cents, as written on Chinese contracts and
/// invoices: `12345000` → `壹拾贰万叁仟肆佰伍拾元整`. Amounts up to 9999亿.
pub fn daxie(cents: u64) -> String {
    let yuan = cents / 100;
    let jiao = (cents / 10) % 10;
    let fen = cents % 10;
    let mut out = String::new();
    if yuan > 0 {
        out.push_str(&integer_daxie(yuan));
        out.push('元');
    }
    match (jiao, fen) {
        (0, 0) => {
            if yuan == 0 {
                out.push_str("零元");
            }
            out.push('整');
        }
        (0, f) => {
            if yuan > 0 {
                out.push('零');
            }
            out.push(digit(f));
            out.push('分');
        }
        (j, 0) => {
            out.push(digit(j));
            out.push('角');
        }
        (j, f) => {
            out.push(digit(j));
            out.push('角');
            out.push(digit(f));
            out.push('分');
        }
    }
    out
}

fn digit(d: u64) -> char {
    DIGITS[(d % 10) as usize]
}

/// The integer part in capitals, without the 元.
fn integer_daxie(n: u64) -> String {
    if n == 0 {
        return "零".to_owned();
    }
    let groups = [
        (n / 100_000_000) % 10_000,
        (n / 10_000) % 10_000,
        n % 10_000,
    ];
    let mut out = String::new();
    let mut started = false;
    let mut pending_zero = false;
    for (group, big) in groups.iter().zip(BIG_UNITS) {
        let g = *group;
        if g == 0 {
            if started {
                pending_zero = true;
            }
            continue;
        }
        if started && g < 1000 {
            pending_zero = true;
        }
        if pending_zero {
            out.push('零');
            pending_zero = false;
        }
        let ds = [g / 1000, (g / 100) % 10, (g / 10) % 10, g % 10];
        let mut inner_started = false;
        let mut inner_zero = false;
        for (i, d) in ds.iter().enumerate() {
            if *d == 0 {
                if inner_started {
                    inner_zero = true;
                }
                continue;
            }
            if inner_zero {
                out.push('零');
                inner_zero = false;
            }
            out.push(digit(*d));
            out.push_str(SMALL_UNITS[3 - i]);
            inner_started = true;
        }
        out.push_str(big);
        started = true;
    }
    out
}

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

/// A whole number in English words: `123450` → `one hundred twenty-three thousand four
/// hundred fifty`.
pub fn english_words(n: u64) -> String {
    if n == 0 {
        return ONES[0].to_owned();
    }
    let mut parts = Vec::new();
    let scales = [
        (1_000_000_000, "billion"),
        (1_000_000, "million"),
        (1_000, "thousand"),
        (1, ""),
    ];
    let mut rest = n;
    for (scale, name) in scales {
        let chunk = rest / scale;
        rest %= scale;
        if chunk == 0 {
            continue;
        }
        let mut words = below_thousand(chunk % 1000);
        if !name.is_empty() {
            words.push(' ');
            words.push_str(name);
        }
        parts.push(words);
    }
    parts.join(" ")
}

fn below_thousand(n: u64) -> String {
    let hundreds = n / 100;
    let rest = n % 100;
    let mut out = String::new();
    if hundreds > 0 {
        out.push_str(ONES[hundreds as usize]);
        out.push_str(" hundred");
    }
    if rest > 0 {
        if !out.is_empty() {
            out.push(' ');
        }
        if rest < 20 {
            out.push_str(ONES[rest as usize]);
        } else {
            out.push_str(TENS[(rest / 10) as usize]);
            if !rest.is_multiple_of(10) {
                out.push('-');
                out.push_str(ONES[(rest % 10) as usize]);
            }
        }
    }
    out
}

/// An amount in cents in English words with the currency name: `Twelve thousand US
/// dollars and fifty cents`.
pub fn english_amount(cents: u64, currency: &str) -> String {
    let whole = english_words(cents / 100);
    let mut out = capitalise(&whole);
    out.push(' ');
    out.push_str(currency);
    let frac = cents % 100;
    if frac > 0 {
        out.push_str(" and ");
        out.push_str(&english_words(frac));
        out.push_str(" cents");
    }
    out.push_str(" only");
    out
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date {
    pub year: u32,
    pub month: u32,
    pub day: u32,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// How a date is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateStyle {
    /// `2026年12月15日`
    Chinese,
    /// `15 December 2026`
    English,
    /// `2026-12-15`
    Iso,
}

impl Date {
    /// Days in the date's month.
    pub fn month_days(year: u32, month: u32) -> u32 {
        match month {
            2 if year.is_multiple_of(4)
                && (!year.is_multiple_of(100) || year.is_multiple_of(400)) =>
            {
                29
            }
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    /// The date written in `style`.
    pub fn format(&self, style: DateStyle) -> String {
        match style {
            DateStyle::Chinese => format!("{}年{}月{}日", self.year, self.month, self.day),
            DateStyle::English => {
                let name = MONTHS[(self.month.clamp(1, 12) - 1) as usize];
                format!("{} {} {}", self.day, name, self.year)
            }
            DateStyle::Iso => format!("{}-{:02}-{:02}", self.year, self.month, self.day),
        }
    }

    /// The date `days` later (days below a year).
    pub fn plus_days(&self, days: u32) -> Date {
        let mut d = *self;
        for _ in 0..days {
            d.day += 1;
            if d.day > Date::month_days(d.year, d.month) {
                d.day = 1;
                d.month += 1;
                if d.month > 12 {
                    d.month = 1;
                    d.year += 1;
                }
            }
        }
        d
    }
}

/// A date written in a text, found by [`find_dates`]: byte range and the date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundDate {
    pub start: usize,
    pub end: usize,
    pub date: Date,
    pub style: DateStyle,
}

/// The dates written in `text` in any of the three styles.
pub fn find_dates(text: &str) -> Vec<FoundDate> {
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if let Some(f) = date_at(text, i) {
            i = f.end;
            found.push(f);
        } else {
            i += 1;
        }
    }
    found
}

fn number_at(text: &str, start: usize, max_len: usize) -> Option<(u32, usize)> {
    let digits: String = text
        .get(start..)?
        .chars()
        .take_while(char::is_ascii_digit)
        .take(max_len + 1)
        .collect();
    if digits.is_empty() || digits.len() > max_len {
        return None;
    }
    Some((digits.parse().ok()?, start + digits.len()))
}

fn date_at(text: &str, start: usize) -> Option<FoundDate> {
    if !text.is_char_boundary(start) {
        return None;
    }
    // No date starts inside a number.
    if start > 0
        && text
            .as_bytes()
            .get(start - 1)
            .is_some_and(u8::is_ascii_digit)
    {
        return None;
    }
    let rest = text.get(start..)?;
    if rest.starts_with(|c: char| c.is_ascii_digit()) {
        let (first, after) = number_at(text, start, 4)?;
        let tail = text.get(after..)?;
        if first >= 1900 && tail.starts_with('年') {
            let (month, a2) = number_at(text, after + '年'.len_utf8(), 2)?;
            if !text.get(a2..)?.starts_with('月') {
                return None;
            }
            let (day, a3) = number_at(text, a2 + '月'.len_utf8(), 2)?;
            if !text.get(a3..)?.starts_with('日') {
                return None;
            }
            let date = Date {
                year: first,
                month,
                day,
            };
            return valid(date).then_some(FoundDate {
                start,
                end: a3 + '日'.len_utf8(),
                date,
                style: DateStyle::Chinese,
            });
        }
        if first >= 1900 && tail.starts_with('-') {
            let (month, a2) = number_at(text, after + 1, 2)?;
            if !text.get(a2..)?.starts_with('-') {
                return None;
            }
            let (day, a3) = number_at(text, a2 + 1, 2)?;
            if text.as_bytes().get(a3).is_some_and(u8::is_ascii_digit) {
                return None;
            }
            let date = Date {
                year: first,
                month,
                day,
            };
            return valid(date).then_some(FoundDate {
                start,
                end: a3,
                date,
                style: DateStyle::Iso,
            });
        }
        if first <= 31 && tail.starts_with(' ') {
            let after_space = after + 1;
            let month_text = text.get(after_space..)?;
            let (mi, name) = MONTHS
                .iter()
                .enumerate()
                .find(|(_, name)| month_text.starts_with(**name))?;
            let year_start = after_space + name.len() + 1;
            if !text.get(after_space + name.len()..)?.starts_with(' ') {
                return None;
            }
            let (year, a3) = number_at(text, year_start, 4)?;
            let date = Date {
                year,
                month: mi as u32 + 1,
                day: first,
            };
            return (year >= 1900 && valid(date)).then_some(FoundDate {
                start,
                end: a3,
                date,
                style: DateStyle::English,
            });
        }
    }
    None
}

fn valid(d: Date) -> bool {
    (1..=12).contains(&d.month) && d.day >= 1 && d.day <= Date::month_days(d.year, d.month)
}

/// An amount written as `123,450.00` in a text: its byte range.
pub fn find_amounts(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts = bytes[i].is_ascii_digit() && (i == 0 || !is_amount_byte(bytes[i - 1]));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < bytes.len() && is_amount_byte(bytes[j]) {
            j += 1;
        }
        // Trailing separators are punctuation, not part of the amount.
        let mut end = j;
        while end > i && !bytes[end - 1].is_ascii_digit() {
            end -= 1;
        }
        let candidate = &text[i..end];
        if is_amount(candidate) {
            found.push((i, end));
        }
        i = j.max(i + 1);
    }
    found
}

fn is_amount_byte(b: u8) -> bool {
    b.is_ascii_digit() || b == b',' || b == b'.'
}

/// `1,234.56` or `1234.56`: digits, optional thousands groups, two decimals.
fn is_amount(s: &str) -> bool {
    let Some((int, frac)) = s.split_once('.') else {
        return false;
    };
    if frac.len() != 2 || !frac.bytes().all(|b| b.is_ascii_digit()) || int.is_empty() {
        return false;
    }
    let groups: Vec<&str> = int.split(',').collect();
    if groups.len() == 1 {
        return int.bytes().all(|b| b.is_ascii_digit());
    }
    groups.iter().enumerate().all(|(i, g)| {
        g.bytes().all(|b| b.is_ascii_digit())
            && if i == 0 {
                (1..=3).contains(&g.len())
            } else {
                g.len() == 3
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daxie_known_values() {
        assert_eq!(daxie(12_345_000), "壹拾贰万叁仟肆佰伍拾元整");
        assert_eq!(daxie(10_000_000), "壹拾万元整");
        assert_eq!(daxie(100_500), "壹仟零伍元整");
        assert_eq!(daxie(2_000_300), "贰万零叁元整");
        assert_eq!(daxie(10_001_000_000), "壹亿零壹万元整");
        assert_eq!(daxie(100_000_000), "壹佰万元整");
        assert_eq!(daxie(1_005), "壹拾元零伍分");
        assert_eq!(daxie(35), "叁角伍分");
        assert_eq!(daxie(100_050), "壹仟元伍角");
        assert_eq!(daxie(1_000), "壹拾元整");
        assert_eq!(daxie(0), "零元整");
        assert_eq!(daxie(123_456_789), "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分");
        assert_eq!(daxie(1_000_010_000), "壹仟万零壹佰元整");
    }

    #[test]
    fn amounts_formatted_and_found() {
        assert_eq!(format_amount(12_345_000), "123,450.00");
        assert_eq!(format_amount(5), "0.05");
        assert_eq!(format_amount(100_000_000), "1,000,000.00");
        let text = "总价 ¥123,450.00 元，含税 16,049.00，编号 2026-12-15 与 12.5";
        let found: Vec<&str> = find_amounts(text)
            .iter()
            .map(|(a, b)| &text[*a..*b])
            .collect();
        assert_eq!(found, vec!["123,450.00", "16,049.00"]);
    }

    #[test]
    fn english() {
        assert_eq!(
            english_words(123_450),
            "one hundred twenty-three thousand four hundred fifty"
        );
        assert_eq!(
            english_amount(1_200_050, "US dollars"),
            "Twelve thousand US dollars and fifty cents only"
        );
    }

    #[test]
    fn dates_formatted_and_found() {
        let d = Date {
            year: 2026,
            month: 12,
            day: 15,
        };
        assert_eq!(d.format(DateStyle::Chinese), "2026年12月15日");
        assert_eq!(d.format(DateStyle::English), "15 December 2026");
        assert_eq!(d.format(DateStyle::Iso), "2026-12-15");
        assert_eq!(d.plus_days(17).format(DateStyle::Iso), "2027-01-01");
        let text = "签订于2026年12月15日，交付 15 December 2026，或 2026-03-01。";
        let found = find_dates(text);
        assert_eq!(found.len(), 3);
        assert_eq!(&text[found[0].start..found[0].end], "2026年12月15日");
        assert_eq!(&text[found[1].start..found[1].end], "15 December 2026");
        assert_eq!(&text[found[2].start..found[2].end], "2026-03-01");
    }
}
