from crm_cli.cli.app import main

if __name__ == "__main__":
    main(prog_name="crm")  # so usage lines and audit records name the command as `crm ...`
