//! Paths and passwords are sent as literals, so quoting must be exact: arbitrary strings go
//! through the emulator and come back unchanged.

use keysafe_core::connection::{connect, ConnectOptions, Trust};
use keysafe_core::tsql;
use mssql_emulator::{Emulator, EmulatorConfig, DEFAULT_SA_PASSWORD};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn any_string_round_trips_through_sql_server_as_a_literal(s in "\\PC{1,60}", hostile in prop::sample::select(vec!["'", "''", "';--", "N'", "]", "\\", "/*", "\u{2019}", "😀", "\u{feff}"])) {
        let text = format!("{s}{hostile}{s}");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let back = rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let emu = Emulator::start(EmulatorConfig::new(dir.path())).await.unwrap();
            let mut o = ConnectOptions::sql(format!("127.0.0.1,{}", emu.addr().port()).parse().unwrap(), "sa", keysafe_core::Password::new(DEFAULT_SA_PASSWORD));
            o.trust = Trust::ServerCertificate;
            o.encrypt = keysafe_test_support::encrypt();
            let mut c = connect(&o).await.unwrap();
            let lit = tsql::literal(&text, "value", 4000).unwrap();
            let rows = c.rows(&format!("SELECT {lit}")).await.unwrap();
            rows[0].get::<&str, _>(0).map(str::to_string)
        });
        prop_assert_eq!(back.as_deref(), Some(text.as_str()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    /// Keysafe's pre-check gives the server's verdict, so a weak password is refused
    /// before anything is sent and a good one is never refused by the server.
    #[test]
    fn the_password_precheck_agrees_with_the_server(pw in "[a-zA-Z0-9!#%]{0,14}") {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (server_ok, number) = rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let emu = Emulator::start(EmulatorConfig::new(dir.path())).await.unwrap();
            let mut o = ConnectOptions::sql(format!("127.0.0.1,{}", emu.addr().port()).parse().unwrap(), "sa", keysafe_core::Password::new(DEFAULT_SA_PASSWORD));
            o.trust = Trust::ServerCertificate;
            o.encrypt = keysafe_test_support::encrypt();
            let mut c = connect(&o).await.unwrap();
            let lit = tsql::literal(&pw, "pw", 128).unwrap_or_else(|_| "N''".into());
            match c.execute(&format!("CREATE DATABASE P; USE P; CREATE MASTER KEY ENCRYPTION BY PASSWORD = {lit}")).await {
                Ok(()) => (true, 0),
                Err(e) => (false, e.server.map(|m| m.number).unwrap_or(0)),
            }
        });
        let verdict = keysafe_core::password::check_policy(&keysafe_core::Password::new(pw.clone()), None);
        prop_assert_eq!(verdict.is_ok(), server_ok, "{:?} vs Msg {}", verdict, number);
        if let Err(v) = verdict {
            prop_assert_eq!(v.sql_error() as u32, number);
        }
    }
}
