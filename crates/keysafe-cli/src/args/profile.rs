use super::ConnArgs;
use clap::Subcommand;

#[derive(Subcommand)]
pub(crate) enum ProfileAction {
    /// Save a connection; with --remember the login's password goes to the OS keyring.
    Add {
        name: String,
        #[command(flatten)]
        conn: Box<ConnArgs>,
        #[arg(long)]
        remember: bool,
        #[arg(long, default_value = "")]
        folder: String,
        /// The environment's colour, #RRGGBB.
        #[arg(long)]
        color: Option<String>,
    },
    List,
    Remove {
        name: String,
    },
    /// Print the profiles as JSON, for import elsewhere (no passwords in it).
    Export,
}
