"""python -m edgeport: the same command as `edgeport`."""

from edgeport.cli import main

if __name__ == "__main__":
    main()
