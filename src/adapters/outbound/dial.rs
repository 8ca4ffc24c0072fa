//! Dialling one connection ourselves, for protocols that bind state to a TCP connection (a KSC
//! login): the same allow-list, TLS trust and timeouts as [`super::build_http_client`], but the
//! caller owns exactly one stream instead of borrowing one from a pool.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use url::Url;

use super::{HttpClientOptions, OutboundBlocked, OutboundPolicy};

/// A byte stream to a server: plain TCP or TLS over it.
pub trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// Why no connection was made, in our words (causes go to the log where they are met).
#[derive(Debug, thiserror::Error)]
pub enum DialError {
    #[error(transparent)]
    Blocked(#[from] OutboundBlocked),
    #[error("the connection was not made in time")]
    Timeout,
    #[error("cannot connect")]
    Connect,
    #[error("the TLS handshake failed")]
    Tls,
}

#[derive(Debug, thiserror::Error)]
pub enum DialerError {
    #[error("the extra CA certificate is not valid PEM")]
    InvalidCaPem,
    #[error("the system's trusted certificates cannot be used")]
    Trust,
    #[error("the URL has no host")]
    NoHost,
}

/// Opens connections to one server (scheme, host, port of `url`).
pub struct Dialer {
    host: String,
    port: u16,
    /// `None` for `http://`.
    tls: Option<Arc<ClientConfig>>,
    policy: Arc<OutboundPolicy>,
    connect_timeout: Duration,
}

impl Dialer {
    pub fn new(url: &Url, opts: &HttpClientOptions) -> Result<Self, DialerError> {
        let host = match url.host().ok_or(DialerError::NoHost)? {
            url::Host::Domain(name) => name.to_string(),
            url::Host::Ipv4(ip) => ip.to_string(),
            url::Host::Ipv6(ip) => ip.to_string(),
        };
        let tls = match url.scheme() {
            "https" => Some(Arc::new(tls_config(opts)?)),
            _ => None,
        };
        Ok(Dialer {
            port: url.port_or_known_default().unwrap_or(443),
            host,
            tls,
            policy: opts.policy.clone(),
            connect_timeout: opts.connect_timeout,
        })
    }

    /// `host[:port]` for the `Host` header.
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default_port = if self.tls.is_some() { 443 } else { 80 };
        if self.port == default_port {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// A new connection: resolved through the allow-list, connected, TLS-handshaken.
    pub async fn connect(&self) -> Result<Box<dyn Stream>, DialError> {
        tokio::time::timeout(self.connect_timeout, self.connect_now())
            .await
            .map_err(|_| DialError::Timeout)?
    }

    async fn connect_now(&self) -> Result<Box<dyn Stream>, DialError> {
        let addrs = self.resolve().await?;
        let mut last_error = None;
        let mut tcp = None;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(stream) => {
                    tcp = Some(stream);
                    break;
                }
                Err(error) => last_error = Some(error),
            }
        }
        let Some(tcp) = tcp else {
            if let Some(error) = last_error {
                tracing::warn!(host = %self.host, port = self.port, cause = %error, "connect failed");
            }
            return Err(DialError::Connect);
        };
        let _ = tcp.set_nodelay(true);
        let Some(tls) = &self.tls else {
            return Ok(Box::new(tcp));
        };
        let name = ServerName::try_from(self.host.clone()).map_err(|_| DialError::Tls)?;
        match tokio_rustls::TlsConnector::from(tls.clone())
            .connect(name, tcp)
            .await
        {
            Ok(stream) => Ok(Box::new(stream)),
            Err(error) => {
                tracing::warn!(host = %self.host, cause = %error, "TLS handshake failed");
                Err(DialError::Tls)
            }
        }
    }

    /// The addresses the policy allows: an IP literal is checked as it is, a name after lookup.
    async fn resolve(&self) -> Result<Vec<SocketAddr>, DialError> {
        if let Ok(ip) = self.host.parse::<std::net::IpAddr>() {
            if !self.policy.allows_ip(ip) {
                return Err(OutboundBlocked {
                    target: ip.to_string(),
                }
                .into());
            }
            return Ok(vec![SocketAddr::new(ip, self.port)]);
        }
        let resolved: Vec<SocketAddr> = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(|error| {
                tracing::warn!(host = %self.host, cause = %error, "name lookup failed");
                DialError::Connect
            })?
            .collect();
        Ok(self.policy.filter_resolved(&self.host, resolved)?)
    }
}

/// The trust of [`super::build_http_client`]: the platform's roots plus an extra CA, or (lab
/// servers only) no certificate check at all.
fn tls_config(opts: &HttpClientOptions) -> Result<ClientConfig, DialerError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|_| DialerError::Trust)?
        .dangerous();
    let config = if opts.accept_invalid_certs {
        builder.with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
    } else {
        let extra: Vec<CertificateDer<'static>> = match &opts.extra_ca_pem {
            None => Vec::new(),
            Some(pem) => {
                let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| DialerError::InvalidCaPem)?;
                if certs.is_empty() {
                    return Err(DialerError::InvalidCaPem);
                }
                certs
            }
        };
        let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider)
            .map_err(|_| DialerError::Trust)?;
        builder.with_custom_certificate_verifier(Arc::new(verifier))
    };
    Ok(config.with_no_client_auth())
}

/// `insecure_skip_tls_verify`: the handshake's signatures are still checked, the certificate is not.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
