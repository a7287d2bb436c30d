//! The reader's language and the message catalog for API errors, in Simplified Chinese
//! (the default) and English. Every error code has both texts; a test checks that.

use axum::http::HeaderMap;
use axum::http::header::ACCEPT_LANGUAGE;

/// The two languages of the product, Chinese first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// The language chosen in the console (the `sk_lang` cookie), else English when the
    /// first language the client accepts is English, else Chinese.
    pub fn from_headers(headers: &HeaderMap) -> Lang {
        let chosen = axum_extra::extract::CookieJar::from_headers(headers)
            .get(LANG_COOKIE)
            .and_then(|c| Lang::from_code(c.value()));
        if let Some(lang) = chosen {
            return lang;
        }
        let first = headers
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        if first.starts_with("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }

    /// `zh-CN` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        match code {
            "zh-CN" | "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// The cookie that keeps the language chosen in the console.
pub const LANG_COOKIE: &str = "sk_lang";

tokio::task_local! {
    /// The language of the request being answered, set by [`scope`] around each request.
    static LANG: Lang;
}

/// Runs `future` (the rest of the request) with `lang` as the current language.
pub async fn scope<F: std::future::Future>(lang: Lang, future: F) -> F::Output {
    LANG.scope(lang, future).await
}

/// The current request's language; Chinese outside a request.
pub fn current() -> Lang {
    LANG.try_with(|lang| *lang).unwrap_or(Lang::Zh)
}

/// A text in both languages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text {
    pub zh: String,
    pub en: String,
}

impl Text {
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Text {
        Text {
            zh: zh.into(),
            en: en.into(),
        }
    }

    pub fn get(&self, lang: Lang) -> &str {
        lang.pick(&self.zh, &self.en)
    }
}

/// The console's message catalog: `locales/zh-CN.toml` and `locales/en.toml`, flat tables
/// of `"key" = "text"`, compiled into the binary. Every key must be in both (a test checks).
pub mod catalog {
    use std::collections::BTreeMap;
    use std::sync::LazyLock;

    use super::Lang;

    pub const ZH_SOURCE: &str = include_str!("../locales/zh-CN.toml");
    pub const EN_SOURCE: &str = include_str!("../locales/en.toml");

    static ZH: LazyLock<BTreeMap<String, String>> = LazyLock::new(|| parse(ZH_SOURCE));
    static EN: LazyLock<BTreeMap<String, String>> = LazyLock::new(|| parse(EN_SOURCE));

    /// Parses a catalog; a broken file yields an empty one, which the tests catch.
    pub fn parse(source: &str) -> BTreeMap<String, String> {
        toml::from_str(source).unwrap_or_default()
    }

    /// The text for `key` in `lang`; a missing key shows as `⟦key⟧` (and fails the tests).
    pub fn get(lang: Lang, key: &str) -> &'static str {
        let table: &'static BTreeMap<String, String> = match lang {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        };
        match table.get(key) {
            Some(text) => text.as_str(),
            None => {
                tracing::warn!(key, "missing message");
                "⟦missing text⟧"
            }
        }
    }
}

/// zxcvbn's feedback keys (see `seal_app::password`) in both languages.
pub fn password_feedback(key: &str) -> Text {
    let (zh, en) = match key {
        "warning.StraightRowsOfKeysAreEasyToGuess" => (
            "键盘上连成一排的按键很容易被猜到。",
            "Straight rows of keys are easy to guess.",
        ),
        "warning.ShortKeyboardPatternsAreEasyToGuess" => (
            "短的键盘图案很容易被猜到。",
            "Short keyboard patterns are easy to guess.",
        ),
        "warning.RepeatsLikeAaaAreEasyToGuess" => (
            "像 “aaa” 这样的重复很容易被猜到。",
            "Repeats like \"aaa\" are easy to guess.",
        ),
        "warning.RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess" => (
            "像 “abcabcabc” 这样的重复只比 “abc” 稍难猜一点。",
            "Repeats like \"abcabcabc\" are only slightly harder to guess than \"abc\".",
        ),
        "warning.ThisIsATop10Password" => (
            "这是最常用的前 10 个密码之一。",
            "This is a top-10 common password.",
        ),
        "warning.ThisIsATop100Password" => (
            "这是最常用的前 100 个密码之一。",
            "This is a top-100 common password.",
        ),
        "warning.ThisIsACommonPassword" => (
            "这是一个非常常见的密码。",
            "This is a very common password.",
        ),
        "warning.ThisIsSimilarToACommonlyUsedPassword" => (
            "这与一个常用密码相似。",
            "This is similar to a commonly used password.",
        ),
        "warning.SequencesLikeAbcAreEasyToGuess" => (
            "像 abc 或 6543 这样的序列很容易被猜到。",
            "Sequences like abc or 6543 are easy to guess.",
        ),
        "warning.RecentYearsAreEasyToGuess" => (
            "最近的年份很容易被猜到。",
            "Recent years are easy to guess.",
        ),
        "warning.AWordByItselfIsEasyToGuess" => (
            "单独一个词很容易被猜到。",
            "A word by itself is easy to guess.",
        ),
        "warning.DatesAreOftenEasyToGuess" => {
            ("日期通常很容易被猜到。", "Dates are often easy to guess.")
        }
        "warning.NamesAndSurnamesByThemselvesAreEasyToGuess" => (
            "单独的名字或姓氏很容易被猜到。",
            "Names and surnames by themselves are easy to guess.",
        ),
        "warning.CommonNamesAndSurnamesAreEasyToGuess" => (
            "常见的名字和姓氏很容易被猜到。",
            "Common names and surnames are easy to guess.",
        ),
        "suggestion.UseAFewWordsAvoidCommonPhrases" => (
            "使用几个词组合，避免常见短语。",
            "Use a few words, avoid common phrases.",
        ),
        "suggestion.NoNeedForSymbolsDigitsOrUppercaseLetters" => (
            "不必非要符号、数字或大写字母。",
            "No need for symbols, digits, or uppercase letters.",
        ),
        "suggestion.AddAnotherWordOrTwo" => (
            "再加一两个词，不常见的词更好。",
            "Add another word or two. Uncommon words are better.",
        ),
        "suggestion.CapitalizationDoesntHelpVeryMuch" => (
            "大写字母帮助不大。",
            "Capitalization doesn't help very much.",
        ),
        "suggestion.AllUppercaseIsAlmostAsEasyToGuessAsAllLowercase" => (
            "全部大写几乎和全部小写一样容易猜到。",
            "All-uppercase is almost as easy to guess as all-lowercase.",
        ),
        "suggestion.ReversedWordsArentMuchHarderToGuess" => (
            "倒写的词并不难猜多少。",
            "Reversed words aren't much harder to guess.",
        ),
        "suggestion.PredictableSubstitutionsDontHelpVeryMuch" => (
            "用 “@” 代替 “a” 这类可预见的替换帮助不大。",
            "Predictable substitutions like '@' instead of 'a' don't help very much.",
        ),
        "suggestion.UseALongerKeyboardPatternWithMoreTurns" => (
            "使用更长、转折更多的键盘图案。",
            "Use a longer keyboard pattern with more turns.",
        ),
        "suggestion.AvoidRepeatedWordsAndCharacters" => (
            "避免重复的词和字符。",
            "Avoid repeated words and characters.",
        ),
        "suggestion.AvoidSequences" => ("避免序列。", "Avoid sequences."),
        "suggestion.AvoidRecentYears" => ("避免最近的年份。", "Avoid recent years."),
        "suggestion.AvoidYearsThatAreAssociatedWithYou" => (
            "避免与您相关的年份。",
            "Avoid years that are associated with you.",
        ),
        "suggestion.AvoidDatesAndYearsThatAreAssociatedWithYou" => (
            "避免与您相关的日期和年份。",
            "Avoid dates and years that are associated with you.",
        ),
        _ => (
            "请换一个更难猜的密码。",
            "Choose a password that is harder to guess.",
        ),
    };
    Text::new(zh, en)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn both_catalogs_have_exactly_the_same_keys() {
        let zh = catalog::parse(catalog::ZH_SOURCE);
        let en = catalog::parse(catalog::EN_SOURCE);
        assert!(zh.len() > 100, "the Chinese catalog did not parse");
        let only_zh: Vec<_> = zh.keys().filter(|k| !en.contains_key(*k)).collect();
        let only_en: Vec<_> = en.keys().filter(|k| !zh.contains_key(*k)).collect();
        assert!(only_zh.is_empty(), "keys missing in en.toml: {only_zh:?}");
        assert!(
            only_en.is_empty(),
            "keys missing in zh-CN.toml: {only_en:?}"
        );
        for (key, text) in zh.iter().chain(en.iter()) {
            assert!(!text.trim().is_empty(), "empty text for {key}");
        }
    }

    /// Every key the pages use is in the catalog: literal keys in templates and in the
    /// console's code, and the keys made from role and permission names.
    #[test]
    fn every_key_used_is_in_the_catalog() {
        let zh = catalog::parse(catalog::ZH_SOURCE);
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut used = std::collections::BTreeSet::new();
        let mut sources = Vec::new();
        for folder in ["templates", "src/web"] {
            for entry in std::fs::read_dir(root.join(folder)).unwrap() {
                sources.push(std::fs::read_to_string(entry.unwrap().path()).unwrap());
            }
        }
        let areas = [
            "app",
            "layout",
            "nav",
            "login",
            "mfa",
            "register",
            "home",
            "account",
            "departments",
            "people",
            "roles",
            "tokens",
            "audit",
            "action",
            "field",
            "hint",
            "status",
            "filter",
            "pagination",
            "flash",
            "error",
            "webhooks",
            "deliveries",
        ];
        for source in &sources {
            for piece in source.split('"').skip(1).step_by(2) {
                let area = piece.split('.').next().unwrap_or_default();
                let looks_like_key = piece.contains('.')
                    && areas.contains(&area)
                    && piece
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
                    && ![".html", ".js", ".css"]
                        .iter()
                        .any(|ext| piece.ends_with(ext));
                if looks_like_key {
                    used.insert(piece.to_owned());
                }
            }
        }
        for role in seal_core::role::BuiltinRole::ALL {
            used.insert(format!("role.{}", role.key()));
        }
        for permission in seal_core::permission::Permission::ALL {
            used.insert(format!("permission.{}", permission.key()));
        }
        for kind in seal_core::webhook::EventKind::ALL {
            used.insert(format!("event.{}", kind.key()));
        }
        used.insert(format!(
            "event.{}",
            seal_core::webhook::EventKind::Test.key()
        ));
        for target in seal_core::webhook::FilingTarget::ALL {
            used.insert(format!("filing.{}", target.key()));
        }
        for status in seal_store::DeliveryStatus::ALL {
            used.insert(format!("delivery_status.{}", status.key()));
        }
        assert!(
            used.len() > 150,
            "found only {} keys: is the scan broken?",
            used.len()
        );
        let missing: Vec<_> = used.iter().filter(|k| !zh.contains_key(*k)).collect();
        assert!(
            missing.is_empty(),
            "keys used but missing from the catalogs: {missing:?}"
        );
    }

    #[test]
    fn language_from_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(Lang::from_headers(&headers), Lang::Zh);
        headers.insert(ACCEPT_LANGUAGE, HeaderValue::from_static("en-GB,en;q=0.9"));
        assert_eq!(Lang::from_headers(&headers), Lang::En);
        headers.insert(
            ACCEPT_LANGUAGE,
            HeaderValue::from_static("zh-CN,zh;q=0.9,en;q=0.8"),
        );
        assert_eq!(Lang::from_headers(&headers), Lang::Zh);
    }
}
