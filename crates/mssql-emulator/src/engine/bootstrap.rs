//! The instance as a scenario first makes it: its logins, databases and keys, its folders'
//! ACLs and the backups the scenario takes, before anything is persisted.

use super::*;

fn new_login(
    name: &str,
    id: i32,
    kind: PrincipalKind,
    password: Option<&str>,
    roles: Vec<String>,
) -> Login {
    let (salt, hash) = password.map(crypto::password_verifier).unwrap_or_default();
    let sid = if name == "sa" {
        SA_SID.to_vec()
    } else {
        crypto::random_bytes::<16>().to_vec()
    };
    Login {
        name: name.to_string(),
        principal_id: id,
        sid,
        kind,
        password_salt: salt,
        password_hash: hash,
        disabled: false,
        roles,
        grants: vec![],
        denies: vec![],
        create_date: now(),
        modify_date: now(),
        default_database: "master".into(),
    }
}

fn parse_day(s: &str, what: &str) -> std::io::Result<NaiveDateTime> {
    crate::value::parse_datetime(s)
        .ok_or_else(|| std::io::Error::other(format!("{what}: {s:?} is not a date (YYYY-MM-DD)")))
}

/// The SQL Server service account's SID: the per-service SID of an NT SERVICE virtual
/// account, else the (made-up, stable) SID of a domain or local account.
pub(super) fn service_account_sid(info: &ServerInfo) -> String {
    let account = &info.service_account;
    match account.split_once('\\') {
        Some((d, n)) if d.eq_ignore_ascii_case("NT SERVICE") => acl::service_sid(n),
        Some((d, n)) => acl::domain_account_sid(d, n),
        None => acl::domain_account_sid(&info.machine_name, account),
    }
}

/// A new Windows host's security descriptors: the drives as Windows sets them up, the
/// instance's folders as SQL Server setup leaves them, then the scenario's own.
pub(super) fn default_acls(
    s: &Scenario,
    info: &ServerInfo,
    fs: &ServerFs,
) -> std::io::Result<acl::AclStore> {
    let mut a = acl::AclStore::default();
    if info.platform != Platform::Windows {
        return Ok(a);
    }
    let bad = |e: String| std::io::Error::other(e);
    let comps = |p: &str| {
        fs.components(p)
            .map_err(|_| std::io::Error::other(format!("path {p:?} is not valid on this platform")))
    };
    let mut drives = s.drives.clone();
    if drives.is_empty() {
        drives.push("C".into());
    }
    for d in drives {
        let root = vec![d.trim_end_matches([':', '\\']).to_uppercase()];
        a.set(
            &root,
            acl::parse_sddl(assumptions::DRIVE_ROOT_SDDL).map_err(bad)?,
        );
    }
    let service_sid = service_account_sid(info);
    let instance_folder = assumptions::INSTANCE_FOLDER_SDDL.replace("{service}", &service_sid);
    for p in [&info.default_backup_path, &info.default_data_path] {
        a.set(&comps(p)?, acl::parse_sddl(&instance_folder).map_err(bad)?);
    }
    for spec in &s.acls {
        let d = match &spec.sddl {
            Some(sddl) => {
                acl::parse_sddl(sddl).map_err(|e| bad(format!("acl for {}: {e}", spec.path)))?
            }
            None => {
                let ace = |name: &String, mask| {
                    acl::sid_of_account(name)
                        .map(|sid| acl::Ace {
                            sid,
                            mask,
                            object_inherit: true,
                            container_inherit: true,
                            inherit_only: false,
                        })
                        .ok_or_else(|| {
                            bad(format!("acl for {}: unknown account {name:?}", spec.path))
                        })
                };
                acl::Descriptor {
                    owner: None,
                    protected: spec.protected,
                    aces: spec
                        .full
                        .iter()
                        .map(|n| ace(n, acl::FULL))
                        .chain(spec.read.iter().map(|n| ace(n, acl::READ)))
                        .collect::<std::io::Result<_>>()?,
                }
            }
        };
        a.set(&comps(&spec.path)?, d);
    }
    Ok(a)
}

pub(super) fn bootstrap(s: &Scenario, info: &ServerInfo) -> std::io::Result<InstanceState> {
    let smk_key = crypto::random_key();
    let mut st = InstanceState {
        service_master_key: Some(ServiceMasterKey {
            key: smk_key.to_vec(),
            guid: uuid::Uuid::new_v4(),
            create_date: now(),
            modify_date: now(),
        }),
        logins: vec![],
        windows_accounts: vec![],
        databases: vec![],
        next_principal_id: 256,
        next_database_id: 4,
        backup_history: vec![],
        file_writes: 0,
        availability_groups: Vec::new(),
    };
    st.logins.push(new_login(
        "sa",
        1,
        PrincipalKind::SqlLogin,
        Some("Emulator!Passw0rd"),
        vec!["sysadmin".into()],
    ));
    st.logins.push(new_login(
        "public",
        2,
        PrincipalKind::ServerRole,
        None,
        vec![],
    ));
    for (i, r) in perms::FIXED_SERVER_ROLES.iter().enumerate() {
        st.logins.push(new_login(
            r,
            3 + i as i32,
            PrincipalKind::ServerRole,
            None,
            vec![],
        ));
    }
    let account = if info.platform == Platform::Windows {
        Some(info.service_account.clone())
    } else {
        None
    };
    if let Some(a) = account {
        let id = st.next_principal_id;
        st.next_principal_id += 1;
        st.logins.push(new_login(
            &a,
            id,
            PrincipalKind::WindowsLogin,
            None,
            vec!["sysadmin".into()],
        ));
    }
    for l in &s.logins {
        if st.login(&l.name).is_some() {
            return Err(std::io::Error::other(format!(
                "login {} is declared twice",
                l.name
            )));
        }
        let id = st.next_principal_id;
        st.next_principal_id += 1;
        let kind = if l.windows {
            PrincipalKind::WindowsLogin
        } else {
            PrincipalKind::SqlLogin
        };
        if !l.windows && l.password.is_none() {
            return Err(std::io::Error::other(format!(
                "login {} needs a password (or windows = true)",
                l.name
            )));
        }
        // A Windows login's password is its domain account's: the emulated domain
        // controller keeps the NT hash, and the login itself has none.
        let sql_password = if l.windows {
            if let Some(pw) = &l.password {
                if !l.name.contains('\\') {
                    return Err(std::io::Error::other(format!(
                        "Windows login {} needs a DOMAIN\\ prefix to log in over NTLM",
                        l.name
                    )));
                }
                let groups = l
                    .groups
                    .iter()
                    .map(|g| {
                        acl::sid_of_name(g).ok_or_else(|| {
                            std::io::Error::other(format!(
                                "group {g:?} of {}: a SID or a well-known group",
                                l.name
                            ))
                        })
                    })
                    .collect::<std::io::Result<Vec<_>>>()?;
                st.windows_accounts.push(state::WindowsAccount {
                    name: l.name.clone(),
                    nt_hash: crate::tds::ntlm::nt_hash(pw).to_vec(),
                    groups,
                });
            }
            None
        } else {
            l.password.as_deref()
        };
        let mut login = new_login(&l.name, id, kind, sql_password, l.roles.clone());
        // A Windows login's SID is its account's (SUSER_SID shows it).
        if l.windows {
            let (domain, user) = l.name.split_once('\\').unwrap_or(("", &l.name));
            if let Some(b) = acl::sid_to_bytes(&acl::domain_account_sid(domain, user)) {
                login.sid = b;
            }
        }
        login.grants = l.grant.iter().map(|g| g.to_uppercase()).collect();
        login.denies = l.deny.iter().map(|g| g.to_uppercase()).collect();
        login.disabled = l.disabled;
        if let Some(d) = &l.default_database {
            login.default_database = d.clone();
        }
        st.logins.push(login);
    }
    for (i, name) in ["master", "tempdb", "model", "msdb"].iter().enumerate() {
        st.databases.push(new_database(name, i as i32 + 1, "sa"));
    }
    // master first: TDE certificates live there.
    let mut specs: Vec<&scenario::DatabaseSpec> = s.databases.iter().collect();
    specs.sort_by_key(|d| !d.name.eq_ignore_ascii_case("master"));
    for d in specs {
        if st.database(&d.name).is_none() {
            st.next_database_id += 1;
            let id = st.next_database_id;
            st.databases.push(new_database(
                &d.name,
                id,
                d.owner.as_deref().unwrap_or("sa"),
            ));
        }
        let db = st.database_mut(&d.name).unwrap();
        if let Some(o) = &d.owner {
            db.owner = o.clone();
        }
        for u in &d.users {
            let pid = db.take_id();
            db.users.push(DatabaseUser {
                name: u.name.clone(),
                login: Some(u.login.clone().unwrap_or_else(|| u.name.clone())),
                principal_id: pid,
                roles: u.roles.clone(),
                grants: u.grant.iter().map(|g| g.to_uppercase()).collect(),
                denies: u.deny.iter().map(|g| g.to_uppercase()).collect(),
                create_date: now(),
                object_permissions: vec![],
            });
        }
        let mut dmk_key = None;
        if let Some(mk) = &d.master_key {
            let foreign = crypto::random_key();
            let smk = match mk.protection {
                MasterKeyProtection::ServiceMasterKey => Some(&smk_key[..]),
                MasterKeyProtection::PasswordOnly => None,
                // The SMK copy was made by the server the database came from.
                MasterKeyProtection::Migrated => {
                    assumptions::MIGRATED_MASTER_KEY_KEEPS_SERVER_FLAG.then_some(foreign.as_ref())
                }
            };
            let (dmk, key) = new_master_key(smk, &mk.password);
            db.master_key = Some(dmk);
            dmk_key = Some(key);
        }
        for c in &d.certificates {
            let start = match &c.start_date {
                Some(s) => parse_day(s, &c.name)?,
                None => now(),
            };
            let expiry = match &c.expiry_date {
                Some(s) => parse_day(s, &c.name)?,
                None => start + chrono::Duration::days(assumptions::CERT_DEFAULT_VALIDITY_DAYS),
            };
            let generated = crypto::generate_certificate(
                c.subject.as_deref().unwrap_or(&c.name),
                start,
                expiry,
            );
            let private_key = match (&c.password, &dmk_key) {
                (Some(pw), _) => PrivateKey { protection: KeyProtection::Password, sealed: crypto::seal_with_password(pw, &generated.private_key_pkcs8) },
                (None, Some(k)) => PrivateKey { protection: KeyProtection::MasterKey, sealed: crypto::seal(k, &generated.private_key_pkcs8) },
                (None, None) => {
                    return Err(std::io::Error::other(format!(
                        "certificate {} in {}: the database has no master key, so give the certificate a password",
                        c.name, d.name
                    )))
                }
            };
            let parsed = crypto::parse_certificate(&generated.der).expect("own certificate parses");
            let id = db.take_id();
            db.certificates.push(Certificate {
                name: c.name.clone(),
                certificate_id: id,
                principal_id: 1,
                der: generated.der,
                subject: parsed.subject,
                issuer: parsed.issuer,
                serial: parsed.serial,
                thumbprint: parsed.thumbprint,
                start_date: parsed.start,
                expiry_date: parsed.expiry,
                private_key: Some(private_key),
                pvt_key_last_backup_date: c
                    .last_backup
                    .as_deref()
                    .map(|s| parse_day(s, &c.name))
                    .transpose()?,
                key_length: assumptions::certificate_key_length(info.major),
            });
        }
    }
    for d in &s.databases {
        if let Some(cert) = &d.tde_certificate {
            let thumb = st
                .database("master")
                .and_then(|m| m.certificate(cert))
                .map(|c| c.thumbprint.clone())
                .unwrap();
            let db = st.database_mut(&d.name).unwrap();
            let at = now();
            db.encryption_key = Some(DatabaseEncryptionKey {
                algorithm: "AES".into(),
                key_length: 256,
                log_encryptors: vec![hex::encode_upper(&thumb)],
                changes_since_log_backup: 0,
                encryptor_thumbprint: thumb,
                encryption_state: 3,
                create_date: at,
                regenerate_date: at,
                modify_date: at,
                set_date: at,
                opened_date: at,
            });
            db.is_encrypted = true;
        }
    }
    exec::certs::sync_tempdb_encryption(&mut st);
    Ok(st)
}
