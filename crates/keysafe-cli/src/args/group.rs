use clap::Subcommand;

#[derive(Subcommand)]
pub(crate) enum GroupAction {
    /// Save a group: its members are saved profiles (--profile, at least twice).
    Add {
        name: String,
        #[arg(long = "profile", value_name = "PROFILE", required = true)]
        profiles: Vec<String>,
    },
    List,
    Remove {
        name: String,
    },
}
