class ModuleDocFragment:
    """Connection options for the MySQL/MariaDB source, shared by every module that reads it."""

    DOCUMENTATION = r"""
options:
  mysql_host:
    description: MySQL or MariaDB host.
    type: str
    default: 127.0.0.1
  mysql_port:
    description: MySQL port.
    type: int
    default: 3306
  mysql_user:
    description: User to connect as (read privileges on the migrated databases).
    type: str
  mysql_password:
    description:
      - Password. Prefer O(mysql_defaults_file); never logged, never on a command line (client
        binaries get a temporary option file of mode 0600).
    type: str
  mysql_defaults_file:
    description: A MySQL option file (mode 0600) with a C([client]) section; explicit options win.
    type: path
  mysql_ssl_ca:
    description: CA certificate for TLS to MySQL.
    type: path
"""
