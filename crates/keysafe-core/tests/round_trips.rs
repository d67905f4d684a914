//! How many times Keysafe waits on the server for one verified backup, counted by the
//! emulator (docs/round-trips.md says why each one is needed).

use keysafe_core::backup::Secrets;
use keysafe_core::run::{self, RunSettings, Selection};
use keysafe_core::Password;

#[tokio::test]
async fn a_verified_smk_backup_takes_at_most_eight_round_trips_from_the_first_packet() {
    let dir = tempfile::tempdir().unwrap();
    let emu = keysafe_test_support::emulator(dir.path(), mssql_emulator::scenarios::DEMO).await;
    let o = keysafe_test_support::sql_options(&emu, "keysafe_operator", "Operat0r!Pass#1");
    let settings = RunSettings::new(Selection::ServiceMasterKey, dir.path().join("medium"));
    let secrets = Secrets::new(Password::new("RoundTrip!Backup#1"));
    // The first backup creates the server folder; the second finds it.
    for (run, (requests, most)) in [(4, 8), (3, 7)].into_iter().enumerate() {
        let r = run::back_up_instance(&o, &settings, &secrets, &|_| {}).await;
        assert!(r.error.is_none(), "{:?}", r.error);
        assert!(r.all_verified(), "{:?}", r.keys);
        let conns = emu.wait_for_closed(run + 1).await;
        assert_eq!(conns.len(), run + 1, "one connection per backup: {conns:?}");
        let c = conns[run];
        // Inventory (2), xp_create_subdir the first time, BACKUP with its hash and bytes (1).
        assert_eq!(c.requests, requests, "backup {}: {c:?}", run + 1);
        // Plus PRELOGIN, the TLS flights the client waits on, LOGIN7.
        assert!(
            c.round_trips <= most,
            "backup {}: {} round trips, at most {most}: {c:?}",
            run + 1,
            c.round_trips
        );
    }
}
