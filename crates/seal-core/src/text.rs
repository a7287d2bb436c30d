//! Bounded, trimmed, printable text: the common rules behind every name field.

/// Why a piece of text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("must not contain control characters")]
    ControlCharacter,
}

/// Trims `input` and checks it is non-empty, at most `max` characters, and free of
/// control characters. Returns the trimmed text.
pub fn bounded(input: &str, max: usize) -> Result<String, TextError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(TextError::Empty);
    }
    if trimmed.chars().count() > max {
        return Err(TextError::TooLong { max });
    }
    if trimmed.chars().any(char::is_control) {
        return Err(TextError::ControlCharacter);
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds() {
        assert_eq!(bounded("  财务部 ", 10), Ok("财务部".to_owned()));
        assert_eq!(bounded("   ", 10), Err(TextError::Empty));
        assert_eq!(bounded("abcdef", 5), Err(TextError::TooLong { max: 5 }));
        assert_eq!(bounded("五个汉字五", 5), Ok("五个汉字五".to_owned()));
        assert_eq!(bounded("a\u{0}b", 5), Err(TextError::ControlCharacter));
    }
}
