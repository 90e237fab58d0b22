//! HTTP helpers shared by the model's two callers, [`crate::predictor`] (any
//! URL) and `aws` (SageMaker Runtime and the control plane): the root
//! certificates every client trusts, and how much of a body a message shows.
//! It sits below both so neither has to borrow from the other.

/// The first 500 characters of a body, for messages.
pub fn snippet(text: &str) -> String {
    let cut: String = text.chars().take(500).collect();
    if cut.len() < text.len() {
        format!("{cut}...")
    } else {
        cut
    }
}

/// The Mozilla root certificates compiled into the binary (webpki-root-certs).
/// They are merged with the system's CA bundle, which rustls-platform-verifier
/// reads from /etc/ssl/certs and the like. Without them, building the client
/// fails outright on a machine or image that has no CA bundle ("No CA
/// certificates were loaded from the system"), even for a plain-HTTP endpoint.
pub fn bundled_roots() -> impl Iterator<Item = reqwest::Certificate> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|der| reqwest::Certificate::from_der(der).ok())
}
