//! Root tests through the installed cage (integration/session/sandbox.sh): files and programs
//! that lie inside a tree the jail binds, and are bound again on their own. Landlock refuses a
//! rule on a file that carries a directory's rights, which once made such a jail fail to
//! start ("jail step `landlock rules` failed") for every command of the grant.

mod support;

use support::{sandbox, text};

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_file_in_a_read_only_list_inside_a_bound_tree_leaves_the_jail_working() {
    // A file named in a read-only list where its directory is bound whole (/etc, on a layer
    // without a `view`): the file is bound again on its own, with the list's access.
    let out = sandbox(
        "set +e\n\
         echo '# the crontab' > /etc/crontab; chmod 0644 /etc/crontab\n\
         printf '[layer.cps.files]\\nread_only = [\"/etc/crontab\"]\\n' > /etc/cage/policies/TEST_FILE.toml\n\
         grant --actions INFRA_DIAG,TEST_FILE --duration 1h --req REQ-F\n\
         as_operator /usr/local/bin/cage -c 'du -s /u01' 2>&1; echo \"status=$?\"\n\
         as_operator /usr/local/bin/cage -c 'sudocat /etc/crontab' 2>&1; echo \"status=$?\"\n",
    );
    let stdout = text(&out.stdout);
    assert!(stdout.contains("/u01\nstatus=0\n"), "{stdout} {}", text(&out.stderr));
    assert!(stdout.contains("# the crontab\nstatus=0\n"), "{stdout}");
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_program_inside_a_read_write_tree_runs() {
    // INFRA_CPS_ONLY gives /opt/oci/exacc/ read-write on a CPS, and its `exacloud` alias runs
    // /opt/oci/exacc/exacloud/bin/exacloud (the model's example: `exacloud --agent status`).
    let out = sandbox(
        "set +e\n\
         mkdir -p /opt/oci && mount -t tmpfs -o mode=0755 cage-test-oci /opt/oci\n\
         mkdir -p /opt/oci/exacc/exacloud/bin /opt/oci/exacc/exacloud/log\n\
         printf '#!/bin/sh\\necho \"exacloud: $*\"\\n' > /opt/oci/exacc/exacloud/bin/exacloud\n\
         chmod 0755 /opt/oci/exacc/exacloud/bin/exacloud\n\
         grant --actions INFRA_CPS_ONLY --duration 1h --req REQ-X\n\
         as_operator /usr/local/bin/cage -c 'exacloud --agent status' 2>&1; echo \"status=$?\"\n",
    );
    let stdout = text(&out.stdout);
    assert!(stdout.ends_with("exacloud: --agent status\nstatus=0\n"), "{stdout} {}", text(&out.stderr));
}
