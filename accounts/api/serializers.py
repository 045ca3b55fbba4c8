from decimal import Decimal

from rest_framework import serializers

from accounts.models import ContributionKind, RelativeContribution
from core.api_fields import ContractYearField, MoneyInputField


class RelativeContributionInputSerializer(serializers.Serializer):
    relative_psn_no = serializers.CharField(max_length=30)
    kind = serializers.ChoiceField(choices=ContributionKind.choices)
    year = ContractYearField(min_value=2000, max_value=2100)
    amount = MoneyInputField(min_value=Decimal("0.01"), help_text="money: a string, at most 2 decimals")
    reference = serializers.CharField(max_length=64, help_text="the collecting body's payment order; idempotency key")


class RelativeContributionOutputSerializer(serializers.ModelSerializer):
    holder_psn_no = serializers.CharField(source="holder.psn_no")
    relative_psn_no = serializers.CharField(source="relative.psn_no")
    policy_version = serializers.CharField(source="policy_version.code")
    balc = serializers.SerializerMethodField()

    class Meta:
        model = RelativeContribution
        fields = ["id", "reference", "holder_psn_no", "relative_psn_no", "kind", "year", "amount",
                  "policy_version", "created_at", "balc"]

    def get_balc(self, obj: RelativeContribution) -> str:
        """The holder's account balance after the payment."""
        return f"{obj.holder.account.balc:.2f}"
