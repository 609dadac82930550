//! bisync never empties one side because the other lists empty.

use super::common::{run, Scratch};

const FILES: [&str; 3] = ["a.txt", "b.txt", "d/c.txt"];

#[test]
fn bisync_never_empties_a_side_because_the_other_lists_empty_even_with_force() {
    for (wiped, kept, name) in [("p2", "p1", "Path2"), ("p1", "p2", "Path1")] {
        let sc = Scratch::new();
        for f in FILES {
            sc.write(&format!("p1/{f}"), f, 100);
        }
        std::fs::create_dir(sc.path("p2")).unwrap();
        let wd = sc.path("wd");
        let wd = wd.to_str().unwrap();
        let (p1, p2) = (sc.path("p1"), sc.path("p2"));
        let (p1, p2) = (p1.to_str().unwrap(), p2.to_str().unwrap());
        let (code, _, err) = run(&["bisync", p1, p2, "--resync", "--workdir", wd]);
        assert_eq!(code, 0, "{err}");
        assert!(sc.exists("p2/d/c.txt"));
        // One side is wiped (an unmounted disk, a deleted bucket prefix).
        std::fs::remove_dir_all(sc.path(wiped)).unwrap();
        std::fs::create_dir(sc.path(wiped)).unwrap();
        for extra in [&["--force"][..], &[], &["--max-delete", "100"]] {
            let mut args = vec!["bisync", p1, p2, "--workdir", wd];
            args.extend_from_slice(extra);
            let (code, _, err) = run(&args);
            assert_eq!(code, 7, "{name} {extra:?}: {err}");
            assert!(
                err.contains(&format!("empty current {name} listing")),
                "{err}"
            );
            assert!(err.contains("--resync"), "{err}");
            for f in FILES {
                assert!(
                    sc.exists(&format!("{kept}/{f}")),
                    "{name} {extra:?} deleted {f}: {err}"
                );
            }
        }
        // --resync is the way on, and restores the wiped side from the other.
        let (code, _, err) = run(&["bisync", p1, p2, "--resync", "--workdir", wd]);
        assert_eq!(code, 0, "{err}");
        assert!(sc.exists(&format!("{wiped}/d/c.txt")), "{err}");
    }
}
