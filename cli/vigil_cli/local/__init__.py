"""Where the ``vigil`` command runs the real handler: embedded AWS made from template.yaml
(``local_aws``, ``template``), a deployed stack (``deployed``), the choice between them
(``backend``), the embedded table kept between commands (``local_state``), the handler
invoked in-process as Lambda would (``harness``) and environment variables (``environ``)."""
