use crate::prelude::*;
use keysafe_core::parity;

pub(crate) async fn cmd_parity(
    conn: &ConnArgs,
    retention_days: u32,
    copy_missing: bool,
    new_master_key_env: Option<&str>,
    json: bool,
) -> Result<i32, KeysafeError> {
    let members = connect_options(conn)?;
    if members.len() < 2 {
        return Err(usage(
            "Parity compares at least two servers: --group, or --profile / --server twice.",
        ));
    }
    let new_master_key = new_master_key_env
        .map(|v| secret_from_env(v, "the new master key's password"))
        .transpose()?;
    let mut found = parity::check(&members, retention_days).await;
    let mut copies = Vec::new();
    if copy_missing {
        copies = parity::copy_missing(&members, &found, new_master_key.as_ref()).await;
        for c in &copies {
            if c.copy.as_ref().is_some_and(|x| x.created_master_key) {
                crate::command::copy_certificate::back_it_up_now("master", &c.to);
            }
        }
        found = parity::check(&members, retention_days).await;
    }
    let failed_copy = copies.iter().any(|c| !c.proven());
    if json {
        print_json(&serde_json::json!({ "parity": found, "copies": copies }))?;
    } else {
        for m in &found.members {
            match &m.error {
                Some(e) => {
                    for l in term::error_lines(&format!("[{}] ", m.server), e) {
                        eprintln!("{l}");
                    }
                }
                None => println!("member {} ({})", term::safe(m.name()), m.server),
            }
            for n in &m.notes {
                println!("  note: {}", term::safe(n));
            }
        }
        for g in &found.availability_groups {
            println!(
                "availability group {} (as {} lists it): replicas {}{}",
                term::safe(&g.name),
                g.seen_on,
                term::safe(&g.replicas.join(", ")),
                if g.not_in_group.is_empty() {
                    String::new()
                } else {
                    format!("; NOT COMPARED: {}", term::safe(&g.not_in_group.join(", ")))
                }
            );
        }
        if found.certificates.is_empty() {
            println!("No TDE database and no kept encrypted backup on any member: no certificate to compare.");
        }
        for c in &found.certificates {
            println!(
                "certificate {} ({}): {}",
                term::safe(&c.name),
                c.thumbprint,
                term::safe(&c.why.join("; "))
            );
            for m in &c.members {
                println!("  {:<24} {}", m.server, term::safe(&m.words));
            }
        }
        for c in &copies {
            match (&c.error, &c.copy) {
                (None, Some(copy)) => println!(
                    "copied {} from {} to {}: thumbprint {} matches",
                    term::safe(&c.certificate),
                    c.from,
                    c.to,
                    copy.target_thumbprint
                ),
                (Some(e), _) => {
                    for l in term::error_lines(
                        &format!("[{}] copy of {}: ", c.to, term::safe(&c.certificate)),
                        e,
                    ) {
                        eprintln!("{l}");
                    }
                }
                (None, None) => {}
            }
        }
        for r in found.risks() {
            eprintln!("RISK: {}", term::safe(&r));
        }
    }
    Ok(if found.complete() && !failed_copy {
        0
    } else {
        1
    })
}
