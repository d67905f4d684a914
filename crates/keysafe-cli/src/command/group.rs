use crate::prelude::*;
use keysafe_core::profiles::{Group, Groups};

pub(crate) fn cmd_group(action: &GroupAction) -> Result<i32, KeysafeError> {
    let home = keysafe_home();
    let mut groups = Groups::load(&home)?;
    match action {
        GroupAction::Add { name, profiles } => {
            groups.upsert(
                Group {
                    name: name.clone(),
                    profiles: profiles.clone(),
                },
                &Profiles::load(&home)?,
            )?;
            println!("Saved group {name}: {}.", profiles.join(", "));
        }
        GroupAction::List => {
            for g in &groups.list {
                println!(
                    "{}: {}",
                    term::safe(&g.name),
                    term::safe(&g.profiles.join(", "))
                );
            }
        }
        GroupAction::Remove { name } => {
            if !groups.remove(name)? {
                return Err(KeysafeError::new(
                    ErrorCode::NotFound,
                    format!("There is no group named {name} (keysafe group list)."),
                ));
            }
            println!("Group {name} removed (its profiles stay).");
        }
    }
    Ok(0)
}
