terraform {
  required_providers {
    psoxy = {
      source = "psoxy/psoxy"
    }
  }
}

# Every setting may come from the environment instead (the azuread provider's ARM_*
# variables), which is the usual way: then `provider "psoxy" {}` is enough.
provider "psoxy" {
  tenant_id   = "00000000-0000-4000-8000-00000000a001" # ARM_TENANT_ID
  environment = "global"                               # ARM_ENVIRONMENT: global, usgovernmentl4, usgovernmentl5, china

  # Sign-in, first match wins: client secret, OIDC token, Azure CLI (`az login`, the
  # default when nothing else is set).
  # client_id     = "..."   # ARM_CLIENT_ID
  # client_secret = "..."   # ARM_CLIENT_SECRET (prefer OIDC in pipelines)
  # use_oidc      = true    # ARM_USE_OIDC: GitHub Actions / Azure DevOps tokens, or
  # oidc_token_file_path = "/var/run/secrets/token"  # ARM_OIDC_TOKEN_FILE_PATH
}
