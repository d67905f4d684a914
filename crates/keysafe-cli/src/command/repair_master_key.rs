use crate::prelude::*;

pub(crate) async fn cmd_repair_master_key(
    conn: &ConnArgs,
    database: &str,
    password_env: Option<&str>,
    yes: bool,
) -> Result<i32, KeysafeError> {
    let targets = connect_options(conn)?;
    if targets.len() != 1 {
        return Err(usage("repair-master-key takes one --server"));
    }
    let server = targets[0].server.to_string();
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(usage(
                "repair-master-key changes the server: confirm with --yes (no terminal to ask on).",
            ));
        }
        eprint!(
            "This adds {server}'s service master key encryption to {database}'s master key \
             (ALTER MASTER KEY ADD ENCRYPTION BY SERVICE MASTER KEY). Type the database name to go on: "
        );
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| usage(format!("Cannot read the answer: {e}")))?;
        if answer.trim() != database {
            eprintln!("Not confirmed: nothing was changed.");
            return Ok(1);
        }
    }
    let key = match password_env {
        Some(v) => secret_from_env(v, "the master key's password")?,
        None => prompt(&format!("{database} master key password"))?,
    };
    let mut c = keysafe_core::connection::connect(&targets[0]).await?;
    let shown =
        keysafe_core::master_key::add_service_master_key_encryption(&mut c, database, &key).await?;
    eprintln!("{shown}");
    eprintln!(
        "[{server}] {database}: the master key now opens with this server's service master key."
    );
    Ok(0)
}
