"""A made-up AWS organisation in an in-process emulator, to show the live scan.

:mod:`pipewarden.demo.server` runs moto's AWS emulator on a loopback port inside
the process; :mod:`pipewarden.demo.seed` fills it with an organisation of member
accounts holding weak and hardened pipelines and the roles, buckets, keys,
CodeBuild projects and ECR repositories they use. ``pipewarden demo`` then
runs the real live collection against it. Tests and the live benchmark reuse
both. moto is an optional dependency (``pip install 'pipewarden[demo]'``);
nothing here is imported by the scanner itself.
"""
