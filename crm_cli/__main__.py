from crm_cli.cli.app import app

if __name__ == "__main__":
    app(prog_name="crm")  # so usage lines and audit records name the command as `crm ...`
