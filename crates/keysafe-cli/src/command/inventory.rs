use crate::prelude::*;

pub(crate) async fn cmd_inventory(conn: &ConnArgs, json: bool) -> Result<i32, KeysafeError> {
    let targets = connect_options(conn)?;
    if targets.len() != 1 {
        return Err(usage("inventory takes one --server"));
    }
    let mut c = keysafe_core::connection::connect(&targets[0]).await?;
    let inv = inventory::inventory(&mut c).await?;
    if json {
        std::println!("{}", serde_json::to_string_pretty(&inv).expect("json"));
        return Ok(0);
    }
    let f = &inv.server;
    println!(
        "{} — SQL Server {} {} on {} (login {})",
        f.server_name, f.product_version, f.edition, f.host_platform, f.login
    );
    println!(
        "  service account: {}",
        f.service_account
            .as_deref()
            .unwrap_or("(needs VIEW SERVER STATE)")
    );
    println!(
        "  default backup folder: {} [{}]",
        f.default_backup_path.as_deref().unwrap_or("unknown"),
        f.backup_path_source
    );
    match &inv.service_master_key {
        Some(k) => println!(
            "Service Master Key: {} {} bits, modified {}",
            k.algorithm,
            k.key_length,
            k.modified.map(|d| d.to_string()).unwrap_or_default()
        ),
        None => println!("Service Master Key: not visible"),
    }
    for d in &inv.databases {
        let mk = match &d.master_key {
            Some(k) => format!("master key ({})", k.protection.words()),
            None => "no master key".into(),
        };
        let tde = d
            .tde
            .filter(|s| *s > 0)
            .map(|s| format!(", TDE: {}", inventory::tde_state_words(s)))
            .unwrap_or_default();
        println!(
            "{}: {mk}{tde}{}",
            d.name,
            if d.not_visible {
                " (not visible to this login)"
            } else {
                ""
            }
        );
        for c in &d.certificates {
            println!(
                "  certificate {} (private key: {}) expires {}, last backup {}{}",
                c.name,
                c.private_key_words(),
                c.expiry.map(|d| d.date().to_string()).unwrap_or_default(),
                c.last_backup
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "never".into()),
                if c.used_by_tde.is_empty() {
                    String::new()
                } else {
                    format!(", protects TDE for {}", c.used_by_tde.join(", "))
                }
            );
        }
        for k in &d.symmetric_keys {
            let by: Vec<String> = k
                .encryptions
                .iter()
                .map(|e| {
                    let cert = d
                        .certificates
                        .iter()
                        .find(|c| Some(c.thumbprint.as_str()) == e.thumbprint.as_deref())
                        .map(|c| c.name.as_str());
                    e.by.describe_with(cert)
                })
                .collect();
            println!(
                "  symmetric key {} ({}) encrypted {}",
                k.name,
                k.algorithm,
                by.join(", ")
            );
        }
    }
    for r in &inv.risks {
        println!("{}: {}: {}", r.severity.word(), r.object, r.text);
    }
    Ok(0)
}
