import sys

if sys.argv[1:] == ["--compile-loops"]:  # engine.direct.CHILD_FLAG: the loop compiler's child
    from playground.engine.direct import serve_compiles

    sys.exit(serve_compiles())

from playground.cli import main

sys.exit(main())
