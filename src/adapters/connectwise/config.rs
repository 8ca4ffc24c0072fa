//! Connection settings for one ConnectWise Manage site.

use std::fmt;

use base64::Engine;
use url::Url;

use super::error::ConnectWiseError;

#[derive(Clone, PartialEq, Eq)]
pub struct ConnectWiseConfig {
    /// `https://host[:port]` (a bare host means https; `http://` is for local test servers).
    pub site_url: String,
    /// e.g. `v4_6_release/`; `None` or empty = discover through `login/companyinfo`.
    pub codebase: Option<String>,
    pub company_id: String,
    pub public_key: String,
    pub private_key: String,
    pub client_id: String,
    /// Pinned API version sent in `Accept`, e.g. `2025.1`.
    pub api_version: String,
    /// Requests in flight at once against this site.
    pub max_concurrency: usize,
}

// Hand-written so the private key never lands in logs.
impl fmt::Debug for ConnectWiseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectWiseConfig")
            .field("site_url", &self.site_url)
            .field("codebase", &self.codebase)
            .field("company_id", &self.company_id)
            .field("public_key", &self.public_key)
            .field("private_key", &"<redacted>")
            .field("client_id", &self.client_id)
            .field("api_version", &self.api_version)
            .field("max_concurrency", &self.max_concurrency)
            .finish()
    }
}

/// The origin (`scheme://host[:port]/`) of a site URL as an MSP types it (a bare host means
/// https), validated.
pub fn site_origin(site_url: &str) -> Result<Url, ConnectWiseError> {
    let raw = site_url.trim().trim_end_matches('/');
    let with_scheme = if raw.contains("://") {
        raw.to_owned()
    } else {
        format!("https://{raw}")
    };
    let invalid = |why: &str| ConnectWiseError::InvalidConfig(format!("site URL `{raw}` {why}"));
    let url = Url::parse(&with_scheme).map_err(|_| invalid("is not a URL"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(invalid("must use https"));
    }
    if url.host_str().is_none() || url.path() != "/" || url.query().is_some() {
        return Err(invalid("must be just scheme, host and optional port"));
    }
    Ok(url)
}

impl ConnectWiseConfig {
    /// The site's origin (`scheme://host[:port]/`), validated.
    pub fn site_origin(&self) -> Result<Url, ConnectWiseError> {
        site_origin(&self.site_url)
    }

    /// The configured codebase normalised to `name/`, or `None` when it must be discovered.
    pub fn configured_codebase(&self) -> Option<String> {
        self.codebase
            .as_deref()
            .map(|c| c.trim().trim_matches('/'))
            .filter(|c| !c.is_empty())
            .map(|c| format!("{c}/"))
    }

    pub fn authorization_header(&self) -> String {
        let credentials = format!(
            "{}+{}:{}",
            self.company_id, self.public_key, self.private_key
        );
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        )
    }

    pub fn accept_header(&self) -> String {
        format!(
            "application/vnd.connectwise.com+json; version={}",
            self.api_version
        )
    }

    pub(crate) fn validate(&self) -> Result<(), ConnectWiseError> {
        self.site_origin()?;
        let missing = [
            ("company id", &self.company_id),
            ("public key", &self.public_key),
            ("private key", &self.private_key),
            ("client id", &self.client_id),
            ("API version", &self.api_version),
        ]
        .into_iter()
        .filter(|(_, value)| value.trim().is_empty())
        .map(|(name, _)| name)
        .collect::<Vec<_>>();
        if !missing.is_empty() {
            return Err(ConnectWiseError::InvalidConfig(format!(
                "missing {}",
                missing.join(", ")
            )));
        }
        if self.max_concurrency == 0 {
            return Err(ConnectWiseError::InvalidConfig(
                "max concurrency must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> ConnectWiseConfig {
        ConnectWiseConfig {
            site_url: "na.myconnectwise.net".into(),
            codebase: None,
            company_id: "acme".into(),
            public_key: "pub".into(),
            private_key: "priv".into(),
            client_id: "5f9c0c1e-0000-4000-8000-000000000001".into(),
            api_version: "2025.1".into(),
            max_concurrency: 4,
        }
    }

    #[test]
    fn authorization_joins_company_and_keys() {
        // base64("acme+pub:priv")
        assert_eq!(
            sample().authorization_header(),
            "Basic YWNtZStwdWI6cHJpdg=="
        );
    }

    #[test]
    fn site_url_accepts_bare_hosts_and_ports() {
        let mut config = sample();
        assert_eq!(
            config.site_origin().unwrap().as_str(),
            "https://na.myconnectwise.net/"
        );
        config.site_url = "http://127.0.0.1:8080/".into();
        assert_eq!(
            config.site_origin().unwrap().as_str(),
            "http://127.0.0.1:8080/"
        );
        for bad in ["ftp://x", "https://x/v4_6_release", "https://x/?a=1", ""] {
            config.site_url = bad.into();
            assert!(config.site_origin().is_err(), "{bad}");
        }
    }

    #[test]
    fn codebase_is_normalised() {
        let mut config = sample();
        for (given, expected) in [
            (Some("v4_6_release"), Some("v4_6_release/")),
            (Some("/v4_6_release/"), Some("v4_6_release/")),
            (Some(" "), None),
            (None, None),
        ] {
            config.codebase = given.map(str::to_owned);
            assert_eq!(config.configured_codebase().as_deref(), expected);
        }
    }

    #[test]
    fn debug_hides_the_private_key() {
        assert!(!format!("{:?}", sample()).contains("priv\""));
    }

    #[test]
    fn validation_lists_missing_fields() {
        let mut config = sample();
        config.public_key.clear();
        config.client_id = " ".into();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("public key, client id"), "{err}");
    }
}
