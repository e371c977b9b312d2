"""Podman connection with pipelining, for this role's Molecule scenarios only.

containers.podman.podman runs `podman exec` without `-i`, so a module cannot be fed on stdin and
pipelining is off: every task then costs a `mkdir` of a temporary directory, a copy and the run
(three `podman exec`, each a second or more on a loaded host). With `-i` the module goes to the
container's Python on stdin, one `podman exec` per task. Files (copy, template) still go through
the parent's mount-based put_file.
"""

import shlex

from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.connection import ConnectionBase, ensure_connect
from ansible_collections.containers.podman.plugins.connection.podman import Connection as PodmanConnection

DOCUMENTATION = """
    name: pgshift_podman
    short_description: containers.podman.podman with pipelining (stdin passed to podman exec)
    description:
        - Run commands or put/fetch files to an existing container using podman; modules are fed on stdin.
    extends_documentation_fragment:
        - connection_pipelining
    options:
      remote_addr:
        description:
          - The ID of the container you want to access.
        default: inventory_hostname
        vars:
          - name: ansible_host
          - name: inventory_hostname
          - name: ansible_podman_host
      remote_user:
        description:
          - User (name or UID) that runs the commands inside the container.
        ini:
          - section: defaults
            key: remote_user
        env:
          - name: ANSIBLE_REMOTE_USER
        vars:
          - name: ansible_user
      podman_extra_args:
        description:
          - Extra arguments to pass to the podman command line.
        default: ''
        ini:
          - section: defaults
            key: podman_extra_args
        vars:
          - name: ansible_podman_extra_args
        env:
          - name: ANSIBLE_PODMAN_EXTRA_ARGS
      podman_executable:
        description:
          - Executable for podman command.
        default: podman
        vars:
          - name: ansible_podman_executable
        env:
          - name: ANSIBLE_PODMAN_EXECUTABLE
"""


class Connection(PodmanConnection):
    transport = "pgshift_podman"
    has_pipelining = True

    @ensure_connect
    def exec_command(self, cmd, in_data=None, sudoable=False):
        """Run cmd in the container; in_data (a pipelined module) goes to its stdin."""
        ConnectionBase.exec_command(self, cmd, in_data=in_data, sudoable=sudoable)
        args = ["exec", "-i"] if in_data is not None else ["exec"]
        if self.user:
            args.extend(("--user", self.user))
        return self._podman(args, shlex.split(to_native(cmd, errors="surrogate_or_strict")), in_data)
