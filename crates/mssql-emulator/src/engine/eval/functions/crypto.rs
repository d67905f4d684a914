//! Cryptographic functions: HASHBYTES, CERTENCODED, CERTPRIVATEKEY.

use super::super::*;

/// The functions of this family, as SQL Server names them.
pub(super) const NAMES: &[&str] = &["HASHBYTES", "CERTENCODED", "CERTPRIVATEKEY"];

pub(super) fn call(ctx: &Ctx, scope: &Scope, name: &str, args: &[Expr]) -> Res<TV> {
    let a = |i: usize| -> Res<TV> { eval(ctx, scope, &args[i]) };
    let text = |i: usize| -> Res<Option<String>> { Ok(a(i)?.v.to_text()) };
    let st = ctx.st;
    let login = &ctx.session.login;
    Ok(match name {
        "HASHBYTES" => {
            arg_count(name, args, 2, 2)?;
            let alg = text(0)?.unwrap_or_default().to_uppercase();
            let input = a(1)?;
            let bytes = match convert(&input, &SqlType::VarBinary(None), None)? {
                Value::Bytes(b) => Some(b),
                _ => None,
            };
            let h = bytes.and_then(|b| match alg.as_str() {
                "MD5" => Some(md5::Md5::digest(&b).to_vec()),
                "SHA" | "SHA1" => Some(sha1::Sha1::digest(&b).to_vec()),
                "SHA2_256" => Some(sha2::Sha256::digest(&b).to_vec()),
                "SHA2_512" => Some(sha2::Sha512::digest(&b).to_vec()),
                _ => None,
            });
            TV::new(
                h.map(Value::Bytes).unwrap_or(Value::Null),
                SqlType::VarBinary(Some(8000)),
            )
        }
        "CERTENCODED" | "CERTPRIVATEKEY" => {
            let pk = name == "CERTPRIVATEKEY";
            if pk {
                arg_count(name, args, 2, 3)?;
            } else {
                arg_count(name, args, 1, 1)?;
            }
            let id = a(0)?.v.to_text().and_then(|t| t.parse::<i64>().ok());
            let db = st.database(&ctx.session.database);
            // Nothing for a certificate the caller cannot see, or (CERTPRIVATEKEY) whose
            // private key it cannot open: NULL, not an error (assumptions).
            let cert = db.zip(id).and_then(|(d, id)| {
                d.certificates
                    .iter()
                    .find(|c| c.certificate_id as i64 == id)
                    .filter(|c| perms::can_see_certificate(st, login, d, &c.name))
                    .map(|c| (d, c))
            });
            let out = match cert {
                None => None,
                Some((_, c)) if !pk => Some(c.der.clone()),
                // "Only users with access to the certificate private key": CONTROL on the
                // certificate, as BACKUP CERTIFICATE needs (CERTPRIVATEKEY's page).
                Some((d, c))
                    if !perms::has_object(st, login, d, "CERTIFICATE", &c.name, "CONTROL") =>
                {
                    None
                }
                Some((d, c)) => {
                    let enc = text(1)?.unwrap_or_default();
                    let dec = if args.len() == 3 { text(2)? } else { None };
                    match crate::engine::exec::certs::private_key(
                        st,
                        ctx.session,
                        d,
                        c,
                        dec.as_deref(),
                    ) {
                        Ok(key) if !enc.is_empty() => Some(crate::engine::crypto::write_backup(
                            crate::engine::crypto::BackupKind::PrivateKey,
                            &enc,
                            &key,
                            ctx.inst.backup_kdf_iterations(),
                        )),
                        Err(f) if !crate::engine::assumptions::CERT_FUNCTIONS_NULL_ON_NO_ACCESS => {
                            return Err(f)
                        }
                        _ => None,
                    }
                }
            };
            TV::new(
                out.map(Value::Bytes).unwrap_or(Value::Null),
                SqlType::VarBinary(None),
            )
        }
        _ => unreachable!("{name} is not one of this family's NAMES"),
    })
}
