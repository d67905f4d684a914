use crate::prelude::*;

/// copy-certificate's two instances, connected (the source, then the target), and the
/// password of a master key to create on the target where it has none.
pub(crate) async fn source_and_target(
    conn: &ConnArgs,
    new_master_key_env: Option<&str>,
) -> Result<
    (
        [keysafe_core::connection::ConnectOptions; 2],
        [keysafe_core::connection::SqlConnection; 2],
        Option<Password>,
    ),
    KeysafeError,
> {
    let targets = connect_options(conn)?;
    let [from, to] = targets.as_slice() else {
        return Err(usage(
            "copy-certificate takes two instances: the source, then the target (--server or --profile twice)",
        ));
    };
    let new_master_key = new_master_key_env
        .map(|v| secret_from_env(v, "the new master key's password"))
        .transpose()?;
    let a = keysafe_core::connection::connect(from).await?;
    let b = keysafe_core::connection::connect(to).await?;
    Ok(([from.clone(), to.clone()], [a, b], new_master_key))
}

/// A master key Keysafe created protects what it put there: say to back it up, now.
pub(crate) fn back_it_up_now(database: &str, server: &impl std::fmt::Display) {
    eprintln!(
        "keysafe: {database} on {server} had no master key: one was created. Back it up now: keysafe backup dmk --database {database} --server {server} ..."
    );
}

pub(crate) async fn cmd_make_tde_restorable(
    conn: &ConnArgs,
    database: &str,
    verify_backup: Option<&str>,
    new_master_key_env: Option<&str>,
    json: bool,
) -> Result<i32, KeysafeError> {
    let ([from, to], [mut a, mut b], new_master_key) =
        source_and_target(conn, new_master_key_env).await?;
    let done = keysafe_core::recovery::make_tde_database_restorable(
        &mut a,
        &mut b,
        database,
        new_master_key.as_ref(),
        verify_backup,
    )
    .await?;
    if done.copy.created_master_key {
        back_it_up_now("master", &to.server);
    }
    if json {
        print_json(&done)?;
    } else {
        println!(
            "[{}] {database}'s TDE certificate master.{} (thumbprint {}) is {} [{}]: backups of {database} can be restored there.",
            from.server,
            done.copy.certificate,
            done.copy.thumbprint,
            if done.copy.already_present { "already on" } else { "now on" },
            to.server
        );
        if let Some(v) = &done.backup_verified {
            println!("  Rehearsal: {v}");
        }
    }
    Ok(if done.copy.verified() { 0 } else { 1 })
}

pub(crate) async fn cmd_copy_certificate(
    conn: &ConnArgs,
    database: &str,
    certificate: &str,
    to_database: &str,
    new_master_key_env: Option<&str>,
    json: bool,
) -> Result<i32, KeysafeError> {
    let ([from, to], [mut a, mut b], new_master_key) =
        source_and_target(conn, new_master_key_env).await?;
    let copy = keysafe_core::recovery::copy_certificate(
        &mut a,
        &mut b,
        database,
        certificate,
        to_database,
        new_master_key.as_ref(),
    )
    .await?;
    if copy.created_master_key {
        // The new key protects the copied private key: without its backup the copy is one
        // server failure away from lost.
        back_it_up_now(to_database, &to.server);
    }
    if json {
        print_json(&copy)?;
    } else if copy.already_present {
        println!(
            "[{}] {to_database}.{certificate} is already there with the same thumbprint {}: nothing to copy.",
            to.server, copy.thumbprint
        );
    } else {
        println!(
            "[{}] {database}.{certificate} -> [{}] {to_database}.{certificate}: copied with its private key (protected there by {}), thumbprint {} on both.",
            from.server,
            to.server,
            if copy.target_protection == "MK" { "the database master key" } else { &copy.target_protection },
            copy.thumbprint
        );
    }
    Ok(if copy.verified() { 0 } else { 1 })
}
