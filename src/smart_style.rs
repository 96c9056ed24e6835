//! SMART styling (App Launch 2.2, scopes-and-launch-context.html#styling; capability
//! `context-style`). An EHR-launched app may style itself like the system that launched it:
//! the token response carries `smart_style_url`, the address of a small JSON document of
//! colours, dimensions and fonts.
//!
//! Clearance serves its own document, taken from the palette of its pages, unless the
//! operator names the EHR's own in `smart_style_url`. The spec says a new URL SHALL be
//! returned when the content changes, so the default URL carries a hash of the content.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// The SMART Style JSON served at `/smart-style.json`.
pub const SMART_STYLE: &str = include_str!("../static/smart-style.json");

/// The path Clearance serves [`SMART_STYLE`] at.
pub const PATH: &str = "/smart-style.json";

/// `<issuer>/smart-style.json?v=<hash>`: the version changes whenever the content does.
pub fn default_url(issuer: &str) -> String {
    let digest = Sha256::digest(SMART_STYLE.as_bytes());
    let version = URL_SAFE_NO_PAD.encode(&digest[..6]);
    format!("{issuer}{PATH}?v={version}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const STYLESHEET: &str = include_str!("../static/style.css");

    /// The value of a CSS custom property in the stylesheet's `:root`.
    fn css_variable(name: &str) -> &'static str {
        let start = STYLESHEET.find(&format!("--{name}:")).expect(name) + name.len() + 3;
        STYLESHEET[start..].split(';').next().unwrap().trim()
    }

    #[test]
    fn the_style_document_has_every_smart_field_and_matches_the_pages() {
        let style: serde_json::Value = serde_json::from_str(SMART_STYLE).unwrap();
        for field in [
            "color_background",
            "color_error",
            "color_highlight",
            "color_modal_backdrop",
            "color_success",
            "color_text",
            "dim_border_radius",
            "dim_font_size",
            "dim_spacing_size",
            "font_family_body",
            "font_family_heading",
        ] {
            assert!(style[field].is_string(), "{field}");
        }
        // One palette: the document an app styles itself with is the one our pages use.
        assert_eq!(style["color_background"], css_variable("bg"));
        assert_eq!(style["color_error"], css_variable("error"));
        assert_eq!(style["color_highlight"], css_variable("accent"));
        assert_eq!(style["color_text"], css_variable("ink"));
    }

    #[test]
    fn the_default_url_is_versioned_by_content() {
        let url = default_url("https://auth.example");
        assert!(url.starts_with("https://auth.example/smart-style.json?v="));
        assert_eq!(url, default_url("https://auth.example"));
        assert_eq!(
            url.len(),
            "https://auth.example/smart-style.json?v=".len() + 8
        );
    }
}
