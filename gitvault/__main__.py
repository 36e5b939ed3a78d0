"""Allow ``python -m gitvault``."""

from gitvault.cli import main

if __name__ == "__main__":
    main()
