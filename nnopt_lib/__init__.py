"""nnopt_lib: the small helper library of the nnopt course.

Each module has one job; see the table in the README. Import modules, not names:
``from nnopt_lib import optim, surfaces``.
"""

__version__ = "0.1.0"
