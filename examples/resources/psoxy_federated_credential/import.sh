# Import by <application object id>/federatedIdentityCredential/<credential id>
# (the azuread provider's format)...
terraform import psoxy_federated_credential.cal_aws 00000000-0000-4000-8000-00000000e001/federatedIdentityCredential/11111111-2222-4333-8444-555555555555

# ...or by <application object id>/<credential name>.
terraform import psoxy_federated_credential.cal_gcp 00000000-0000-4000-8000-00000000e001/psoxy-outlook-cal-gcp
