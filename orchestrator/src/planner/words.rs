//! Words: how objectives, schema descriptions and field names are cut into lowercase words for
//! keyword matching.
//!
//! Terms:
//! - **word**: a maximal run of letters and digits, lowercased (`Vast.ai` gives `vast`, `ai`).
//! - **identifier words**: the words of a field name written in snake, kebab or camel case:
//!   `pricePoint`, `price_point` and `Price-Point` all give `price`, `point`; an acronym stays
//!   whole (`HTTPServer` gives `http`, `server`) and digits stay with their letters (`h100`).

/// The words of free text.
pub(crate) fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|word| !word.is_empty()).map(str::to_lowercase).collect()
}

/// The words of a field name.
pub(crate) fn identifier_words(name: &str) -> Vec<String> {
    let characters: Vec<char> = name.chars().collect();
    let mut spaced = String::with_capacity(name.len() + 8);
    for (position, &character) in characters.iter().enumerate() {
        if position > 0 && character.is_uppercase() {
            let previous = characters[position - 1];
            let next_is_lower = characters.get(position + 1).is_some_and(|next| next.is_lowercase());
            // `priceP`oint starts a word; so does the `S` of `HTTPServer`, the last capital of an acronym.
            if previous.is_lowercase() || previous.is_ascii_digit() || (previous.is_uppercase() && next_is_lower) {
                spaced.push(' ');
            }
        }
        spaced.push(character);
    }
    words(&spaced)
}

/// Whether `word` is `keyword` or its plural in `s`.
pub(crate) fn is_keyword(word: &str, keyword: &str) -> bool {
    word.strip_suffix('s').map_or(word == keyword, |singular| word == keyword || singular == keyword)
}
