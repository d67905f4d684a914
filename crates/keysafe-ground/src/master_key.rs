//! Changes to a database master key, made only when the user asks and confirms: Keysafe's
//! backups never change the hierarchy they protect.

use crate::connection::SqlConnection;
use crate::error::Result;
use crate::secret::Password;
use crate::tsql;

/// For a database restored or attached from another server: opens its master key with its
/// password and adds this server's service master key encryption, so it opens by itself
/// again (ALTER MASTER KEY ADD ENCRYPTION BY SERVICE MASTER KEY). Returns the statement as
/// shown to people (password masked), for the console and the log.
pub async fn add_service_master_key_encryption(
    c: &mut SqlConnection,
    database: &str,
    key: &Password,
) -> Result<String> {
    c.require_private(&format!("{database}'s master key password"))?;
    let s = tsql::add_service_master_key_encryption(database, key)?;
    c.execute(s.sent()).await?;
    Ok(s.shown)
}
