"""Environment names a vault file may not set unless the team allows them deliberately.

Anyone holding only the public keys can write a valid vault file, and a key's
name decides the variable's name. A variable such as ``LD_PRELOAD``,
``BASH_ENV`` or ``NODE_OPTIONS`` does not configure the program that reads it:
it changes *which code runs* (a library loaded into every process, a script
sourced by every shell, a module required by every Node process). Handed to a
deploy script, or written to ``$GITHUB_ENV`` for every later CI step, such a
value is code execution for whoever wrote the file. ``exec`` and the
environment-shaped export formats therefore refuse these names (exit 5, one
line naming the key, never the value) unless the name is allowed with
``--allow-env NAME`` or the policy's ``export: {allow_env: [...]}`` (top
level, or on the rule covering the file).

The list follows the ones programs already keep for the same reason: glibc's
``UNSECURE_ENVVARS`` (dropped for set-uid programs), sudo's ``env_delete``
/``env_check`` defaults, the GitHub runner's refusal of ``NODE_OPTIONS`` in
``$GITHUB_ENV``, and each language runtime's documented start-up variables.
It is matched on the final variable name (after ``--prefix`` and with the
``_PREVIOUS``/``_FILE`` companions), since that is what the child sees.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from gitvault.errors import BadInput

# Exact names. Grouped by what they hijack; each group cites where it comes from.
DENIED_NAMES = frozenset(
    {
        # Search paths and the dynamic loader (glibc UNSECURE_ENVVARS, sudo).
        "PATH", "GCONV_PATH", "GETCONF_DIR", "HOSTALIASES", "LOCALDOMAIN", "LOCPATH",
        "NIS_PATH", "NLSPATH", "PATH_LOCALE", "RES_OPTIONS", "RESOLV_HOST_CONF",
        "GLIBC_TUNABLES", "TMPDIR", "TZDIR", "HOME", "CDPATH", "IFS",
        # Shells: files sourced at start-up, options, prompt and traps (sudo env_delete).
        "ENV", "BASH_ENV", "SHELLOPTS", "BASHOPTS", "PS4", "PROMPT_COMMAND",
        "GLOBIGNORE", "FPATH", "ZDOTDIR", "NULLCMD", "READNULLCMD", "TMPPREFIX",
        "SHELL", "INPUTRC",
        # Programs that other programs start by name.
        "EDITOR", "VISUAL", "PAGER", "MANPAGER", "LESSOPEN", "LESSCLOSE", "BROWSER",
        "SSH_ASKPASS", "SUDO_ASKPASS", "TERMINFO", "TERMINFO_DIRS", "TERMCAP", "TERMPATH",
        # Runtimes: options and module paths read before the program's own code.
        "NODE_OPTIONS", "NODE_PATH", "NODE_REPL_EXTERNAL_MODULE",
        "PERLLIB", "PERL5LIB", "PERL5OPT", "PERL5DB", "PERLIO", "PERLIO_DEBUG",
        "RUBYOPT", "RUBYLIB", "GEM_HOME", "GEM_PATH", "BUNDLE_GEMFILE",
        "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH",
        "LUA_INIT", "LUA_PATH", "LUA_CPATH", "PHPRC", "PHP_INI_SCAN_DIR",
        "DOTNET_STARTUP_HOOKS", "OPENSSL_CONF", "OPENSSL_ENGINES", "R_PROFILE",
        "R_PROFILE_USER", "R_ENVIRON", "R_ENVIRON_USER", "TCLLIBPATH",
        # Where traffic goes and whom it trusts: a deploy step's credentials would
        # travel through an attacker's proxy, or to a server with an attacker's CA.
        "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE",
        "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS",
        "NODE_TLS_REJECT_UNAUTHORIZED",
        # Windows: which files count as programs, and the shell.
        "PATHEXT", "COMSPEC",
    }
)  # fmt: skip

# Prefixes: every name starting with one of these.
DENIED_PREFIXES = (
    "LD_",  # glibc loader: LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT, …
    "_RLD",  # IRIX/Tru64 loader (sudo keeps it on its list)
    "DYLD_",  # macOS loader
    "BASH_FUNC_",  # exported bash functions (Shellshock's vector)
    "MALLOC_",  # glibc malloc debugging hooks (MALLOC_TRACE writes files)
    "PYTHON",  # PYTHONPATH, PYTHONSTARTUP, PYTHONHOME, PYTHONWARNINGS, PYTHONBREAKPOINT…
    "PERL5",  # PERL5LIB/PERL5OPT and the rest of Perl's start-up family
    "GIT_",  # GIT_SSH_COMMAND, GIT_EXEC_PATH, GIT_CONFIG_*, GIT_ASKPASS, …
    "CORECLR_",  # .NET Core profiler loading
    "COR_",  # .NET Framework profiler loading
    # GITHUB_*/RUNNER_* are left out: the runner refuses to overwrite its own, and
    # GITHUB_TOKEN is an ordinary secret to deploy. ACTIONS_* (cache and runtime
    # endpoints) it does not guard, and no vault key has a reason to set them.
    "ACTIONS_",
    "SOPS_",  # which key sops uses: a file must not choose its own reader's key
    "GITVAULT_",  # the same for gitvault (identities, audit log, cache)
)


def is_denied(name: str) -> bool:
    """True when ``name`` changes how programs load or run (see the module docstring)."""
    upper = name.upper()  # names are upper-case already; Windows compares without case
    return upper in DENIED_NAMES or upper.startswith(DENIED_PREFIXES)


def check_names(named: Iterable[tuple[str, str]], allowed: Collection[str] = ()) -> None:
    """Raise :class:`BadInput` (exit 5) for the first denied name not in ``allowed``.

    ``named`` yields ``(variable name, origin)`` pairs; the origin is how the
    message names the source (``file:key.path``), never a value.
    """
    allow = {a.upper() for a in allowed}
    for name, origin in named:
        if is_denied(name) and name.upper() not in allow:
            raise BadInput(
                f"{origin} would set {name}, an environment variable that changes how "
                "programs load or run",
                hint=f"rename the key, or allow it deliberately: --allow-env {name} "
                "(or export.allow_env in the policy)",
            )
