//! What `sys.key_encryptions.crypt_type` says protects a key, in an administrator's words.
//! SQL Server 2025 added RSA-OAEP-256 values (C256, A256) at compatibility level 170, and
//! may add more: a value not documented today is shown as unknown, never guessed.

use serde::Serialize;

/// One documented crypt_type (the sys.key_encryptions page), or one Keysafe does not know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "crypt_type", rename_all = "snake_case")]
pub enum KeyEncryption {
    /// ESKS
    SymmetricKey,
    /// ESKP, ESP2, ESP3
    Password,
    /// EPUC: RSA with PKCS#1 v1.5 padding.
    Certificate,
    /// EPUA
    AsymmetricKey,
    /// ESKM: the database master key (or, for it, the service master key).
    MasterKey,
    /// C256: RSA-OAEP-256 (compatibility level 170, SQL Server 2025).
    CertificateOaep256,
    /// A256: RSA-OAEP-256.
    AsymmetricKeyOaep256,
    /// A value the documentation did not list when this Keysafe was built.
    Unknown(String),
}

impl KeyEncryption {
    pub fn from_crypt_type(crypt_type: &str) -> Self {
        match crypt_type.trim().to_ascii_uppercase().as_str() {
            "ESKS" => Self::SymmetricKey,
            "ESKP" | "ESP2" | "ESP3" => Self::Password,
            "EPUC" => Self::Certificate,
            "EPUA" => Self::AsymmetricKey,
            "ESKM" => Self::MasterKey,
            "C256" => Self::CertificateOaep256,
            "A256" => Self::AsymmetricKeyOaep256,
            _ => Self::Unknown(crypt_type.trim().to_string()),
        }
    }

    /// Whether the certificate this encryption names (by thumbprint) is what opens the key.
    pub fn is_by_certificate(&self) -> bool {
        matches!(self, Self::Certificate | Self::CertificateOaep256)
    }

    /// "by certificate (RSA-OAEP-256)", as the CLI and the app print it.
    pub fn describe(&self) -> String {
        self.describe_with(None)
    }

    /// As `describe`, naming the certificate when it is known: "by certificate CardCert
    /// (RSA-OAEP-256)".
    pub fn describe_with(&self, certificate: Option<&str>) -> String {
        let cert = certificate
            .map(|n| format!("certificate {n}"))
            .unwrap_or_else(|| "certificate".into());
        match self {
            Self::SymmetricKey => "by a symmetric key".into(),
            Self::Password => "by a password".into(),
            Self::Certificate => format!("by {cert} (RSA PKCS#1 v1.5)"),
            Self::AsymmetricKey => "by an asymmetric key (RSA PKCS#1 v1.5)".into(),
            Self::MasterKey => "by the master key".into(),
            Self::CertificateOaep256 => format!("by {cert} (RSA-OAEP-256)"),
            Self::AsymmetricKeyOaep256 => "by an asymmetric key (RSA-OAEP-256)".into(),
            Self::Unknown(t) => format!("unknown to this Keysafe (crypt_type {t})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::KeyEncryption as K;

    #[test]
    fn every_documented_crypt_type_is_named_and_others_stay_unknown() {
        for (t, k) in [
            ("ESKS", K::SymmetricKey),
            ("ESKP", K::Password),
            ("ESP2", K::Password),
            ("ESP3", K::Password),
            ("EPUC", K::Certificate),
            ("EPUA", K::AsymmetricKey),
            ("ESKM", K::MasterKey),
            ("C256", K::CertificateOaep256),
            ("A256", K::AsymmetricKeyOaep256),
        ] {
            assert_eq!(K::from_crypt_type(t), k, "{t}");
            assert!(!k.describe().contains("unknown"), "{t}");
        }
        let future = K::from_crypt_type("Q512");
        assert_eq!(future, K::Unknown("Q512".into()));
        assert!(!future.is_by_certificate());
        assert!(future.describe().contains("Q512"));
    }
}
